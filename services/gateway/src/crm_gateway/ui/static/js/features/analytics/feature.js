// Analytics (services/analytics): the ERP's trade facts and the ABC classification of customers.
// No pages yet (the API and the command line come first; the dashboards follow): the names of its
// permissions for the users page. See ../README.md.
import bg from './i18n/bg.js';
import en from './i18n/en.js';

export default {
  name: 'analytics',
  pages: [],
  messages: { bg, en },
};
