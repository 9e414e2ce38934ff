// Interactions (services/interactions): calls, meetings and letters, their list and calendar,
// the home page "My day", and the interactions tab of the counterparty card (a slot of the contacts
// feature). See ../README.md.
import * as counterpartyTab from './counterparty-tab.js';
import * as interactionCalendar from './interaction-calendar.js';
import * as interactionCard from './interaction-card.js';
import * as interactionEdit from './interaction-edit.js';
import * as interactionNew from './interaction-new.js';
import * as interactions from './interactions.js';
import * as myDay from './my-day.js';
import bg from './i18n/bg.js';
import en from './i18n/en.js';

export default {
  name: 'interactions',
  pages: [interactions, interactionCalendar, interactionNew, interactionCard, interactionEdit, myDay],
  // The home page: the logo and '/' lead here (see core/features.js).
  home: { path: '/my-day', order: 10 },
  nav: [
    { path: '/interactions', key: 'nav.interactions', order: 30 },
    { path: '/calendar', key: 'nav.calendar', order: 40 },
  ],
  messages: { bg, en },
  slots: {
    'counterparty-card/tabs': [
      { name: 'interactions', labelKey: 'ia.tab.title', order: 60, render: counterpartyTab.render },
    ],
  },
};
