// Interactions (services/interactions): calls, meetings and letters, their list and calendar,
// and the interactions tab of the counterparty card (a slot of the contacts feature). See ../README.md.
import * as counterpartyTab from './counterparty-tab.js';
import * as interactionCalendar from './interaction-calendar.js';
import * as interactionCard from './interaction-card.js';
import * as interactionEdit from './interaction-edit.js';
import * as interactionNew from './interaction-new.js';
import * as interactions from './interactions.js';

export default {
  name: 'interactions',
  pages: [interactions, interactionCalendar, interactionNew, interactionCard, interactionEdit],
  nav: [
    { path: '/interactions', key: 'nav.interactions', order: 30 },
    { path: '/calendar', key: 'nav.calendar', order: 40 },
  ],
  slots: {
    'counterparty.tabs': [{ name: 'interactions', labelKey: 'cp.tab.interactions', order: 60, render: counterpartyTab.render }],
  },
};
