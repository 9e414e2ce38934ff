// Every page of the UI. To add one:
//   1. create pages/<name>.js exporting
//        path      the hash route, with :params       '/counterparties/:id'
//        titleKey  the i18n key of its title          'counterparty.title'
//        render    (ctx) => Node or Promise<Node>
//      and optionally `permission` ('users:admin': the page is "not found" for users without it),
//      `navKey` (the i18n key of its link in the header) or `anonymous = true` (no sign-in needed);
//   2. add it to the list below (its order is the header's; for routing order does not matter:
//      literal segments win over :params);
//   3. add its texts to i18n/en.js and i18n/bg.js.
// ctx: params (from the path), query (URLSearchParams), signal (aborted when the user leaves),
// navigate(path), setTitle(text), chooseLanguage(code), afterSignIn(user, next). A render that
// throws an ApiError 404/403 shows the not-found page; any other error shows an error box.
import * as account from './account.js';
import * as counterpartyCard from './counterparty-card.js';
import * as counterpartyCardTab from './counterparty-card-tab.js';
import * as counterpartyEdit from './counterparty-edit.js';
import * as counterpartyList from './counterparty-list.js';
import * as counterpartyNew from './counterparty-new.js';
import * as exportPage from './export.js';
import * as importPage from './import.js';
import * as interactionCalendar from './interaction-calendar.js';
import * as interactionCard from './interaction-card.js';
import * as interactionEdit from './interaction-edit.js';
import * as interactionNew from './interaction-new.js';
import * as interactions from './interactions.js';
import * as notFoundPage from './not-found.js';
import * as personCard from './person-card.js';
import * as personEdit from './person-edit.js';
import * as personNew from './person-new.js';
import * as persons from './persons.js';
import * as reference from './reference.js';
import * as signIn from './sign-in.js';
import * as users from './users.js';

export const pages = [
  signIn,
  counterpartyList,
  counterpartyNew,
  counterpartyCard,
  counterpartyCardTab,
  counterpartyEdit,
  persons,
  personNew,
  personCard,
  personEdit,
  interactions,
  interactionCalendar,
  interactionNew,
  interactionCard,
  interactionEdit,
  users,
  reference,
  importPage,
  exportPage,
  account,
];

/** Shown for unknown routes, pages the user may not open, and records the user cannot see. */
export const notFound = notFoundPage;
