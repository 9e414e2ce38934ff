// Analytics (services/analytics): the ERP's trade facts and the ABC classification of customers.
// Pages: the ABC analysis (parameters, the class distribution as a chart, the customers, CSV and
// XLSX) for roles with analytics:read, and the import of trade facts from CSV for roles with
// trade-facts:write; the names of its permissions for the users page. See ../README.md.
import * as abc from './abc.js';
import * as importPage from './import.js';
import bg from './i18n/bg.js';
import en from './i18n/en.js';

export default {
  name: 'analytics',
  pages: [abc, importPage],
  nav: [
    { path: '/analytics/abc', key: 'nav.analyticsAbc', order: 45 },
    { path: '/analytics/import', key: 'nav.analyticsImport', order: 75 },
  ],
  messages: { bg, en },
};
