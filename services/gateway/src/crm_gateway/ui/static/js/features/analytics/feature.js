// Analytics (services/analytics): the ERP's trade facts and the ABC classification of customers.
// Pages: the ABC analysis (parameters, the class distribution as a chart, the customers, CSV and
// XLSX) and the stages and XYZ classes (a sales manager sees their access groups' customers), each
// with its rule's back-test over past periods, every report optionally as of a moment, the
// classification runs (start, preview, confirm, movement, overrides) for roles with analytics:read, the analysis of interactions and information sources
// (a sales manager sees their access groups' rows), contact effectiveness and multi-touch attribution,
// the sales-manager comparison (chart, every indicator, a manager's customers),
// and the import of trade facts from CSV for roles with
// trade-facts:write; the names of its permissions for the users page. See ../README.md.
import * as abc from './abc.js';
import * as abcBacktest from './abc-backtest.js';
import * as attribution from './attribution.js';
import * as importPage from './import.js';
import * as managers from './managers.js';
import * as runs from './runs.js';
import * as sources from './sources.js';
import * as xyz from './xyz.js';
import * as xyzBacktest from './xyz-backtest.js';
import bg from './i18n/bg.js';
import en from './i18n/en.js';

export default {
  name: 'analytics',
  pages: [abc, abcBacktest, runs, xyz, xyzBacktest, sources, attribution, managers, importPage],
  nav: [
    { path: '/analytics/abc', key: 'nav.analyticsAbc', order: 45 },
    { path: '/analytics/runs', key: 'nav.analyticsRuns', order: 46 },
    { path: '/analytics/xyz', key: 'nav.analyticsXyz', order: 47 },
    { path: '/analytics/sources', key: 'nav.analyticsSources', order: 48 },
    { path: '/analytics/attribution', key: 'nav.analyticsAttribution', order: 49 },
    { path: '/analytics/managers', key: 'nav.analyticsManagers', order: 49.5 },
    { path: '/analytics/import', key: 'nav.analyticsImport', order: 75 },
  ],
  messages: { bg, en },
};
