// Import of trade facts (sales and returns) from a CSV file through analytics' import job
// (POST /api/v1/analytics/imports/trade-facts, followed under /api/v1/analytics/jobs): the core's
// import flow (core/jobs.js), as contacts' import of counterparties uses it — upload with its
// progress, the job live, Stop, the rejected rows (line, column, reason, fact id) and the report.
// ?job=<id> reopens an earlier import.
import { h } from '../../core/dom.js';
import { importFlow } from '../../core/jobs.js';
import { heading } from '../../core/widgets.js';

export const path = '/analytics/import';
export const titleKey = 'analytics.import.title';
export const permission = 'trade-facts:write';

const COLUMNS = 'id, date, customer, quantity, revenue; kind, item, division, manager, revenue_without_vat, cost, currency';

export function render(ctx) {
  return h(
    'section',
    { class: 'import-page analytics-import' },
    h('div', { class: 'page-head' }, heading('analytics.import.title')),
    h('p', { i18n: 'analytics.import.intro' }),
    importFlow(ctx, {
      uploadUrl: '/api/v1/analytics/imports/trade-facts',
      base: '/api/v1/analytics',
      pagePath: path,
      fileLabel: 'analytics.import.file',
      fileHint: 'analytics.import.fileHint',
      columns: COLUMNS,
      submitKey: 'analytics.import.submit',
      countsKey: () => 'analytics.import.counts',
      nameKey: 'analytics.import.factId',
    }),
  );
}
