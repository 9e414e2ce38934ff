// Access (the gateway): signing in, users, roles and access groups, and the user's own account.
// See ../README.md.
import * as accessGroups from './access-groups.js';
import * as account from './account.js';
import * as signIn from './sign-in.js';
import * as users from './users.js';
import bg from './i18n/bg.js';
import en from './i18n/en.js';

export default {
  name: 'access',
  pages: [signIn, users, accessGroups, account],
  nav: [
    { path: '/users', key: 'nav.users', order: 50 },
    { path: '/access-groups', key: 'nav.accessGroups', order: 51 },
    { path: '/account', key: 'nav.account', order: 90 },
  ],
  messages: { bg, en },
};
