// Contacts (services/contacts): counterparties and their card, contact persons, the
// administrators' reference data, CSV import and export, and caller id (a box in the header and
// its page). See ../README.md.
import * as callerId from './caller-id.js';
import * as counterpartyCard from './counterparty-card.js';
import * as counterpartyCardTab from './counterparty-card-tab.js';
import * as counterpartyEdit from './counterparty-edit.js';
import * as counterpartyList from './counterparty-list.js';
import * as counterpartyNew from './counterparty-new.js';
import * as exportPage from './export.js';
import * as importPage from './import.js';
import * as personCard from './person-card.js';
import * as personEdit from './person-edit.js';
import * as personNew from './person-new.js';
import * as persons from './persons.js';
import * as reference from './reference.js';
import bg from './i18n/bg.js';
import en from './i18n/en.js';

export default {
  name: 'contacts',
  pages: [
    callerId,
    counterpartyList,
    counterpartyNew,
    counterpartyCard,
    counterpartyCardTab,
    counterpartyEdit,
    persons,
    personNew,
    personCard,
    personEdit,
    reference,
    importPage,
    exportPage,
  ],
  nav: [
    { path: '/counterparties', key: 'nav.counterparties', order: 10 },
    { path: '/persons', key: 'nav.persons', order: 20 },
    { path: '/reference', key: 'nav.reference', order: 60 },
    { path: '/import', key: 'nav.import', order: 70 },
    { path: '/export', key: 'nav.export', order: 80 },
  ],
  messages: { bg, en },
  slots: {
    // "Who is calling": a phone-number box in the header, on every page (see caller-id.js).
    'header/tools': [{ name: 'caller-id', order: 10, permission: callerId.permission, render: callerId.headerBox }],
  },
};
