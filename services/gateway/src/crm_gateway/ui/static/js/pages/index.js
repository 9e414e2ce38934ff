// Every page of the UI. To add one: create pages/<name>.js exporting
//   path      the hash route, with :params   ('/counterparties/:id')
//   titleKey  the i18n key of its title      ('counterparty.title')
//   render    async (ctx) => Node            (ctx: params, query, signal, navigate, setTitle, …)
// and optionally `permission` (e.g. 'users:admin': hidden from others) or `anonymous = true`
// (reachable without signing in), then add it to the list below. Order does not matter: literal
// path segments win over :params.
import * as account from './account.js';
import * as counterpartyCard from './counterparty-card.js';
import * as counterpartyEdit from './counterparty-edit.js';
import * as counterpartyList from './counterparty-list.js';
import * as counterpartyNew from './counterparty-new.js';
import * as notFoundPage from './not-found.js';
import * as signIn from './sign-in.js';
import * as users from './users.js';

export const pages = [signIn, counterpartyList, counterpartyNew, counterpartyCard, counterpartyEdit, users, account];

/** Shown for unknown routes, pages the user may not open, and records the user cannot see. */
export const notFound = notFoundPage;
