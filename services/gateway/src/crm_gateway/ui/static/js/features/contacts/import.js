// Import of counterparties from a CSV file: choose the file, upload it (with its upload progress),
// then follow the import job live: a progress bar, the counts, the rejected rows with their line
// numbers and reasons, and the whole report to download. ?job=<id> reopens an earlier import.
// The flow is the core's (core/jobs.js), shared with analytics' import of trade facts.
import { h } from '../../core/dom.js';
import { importFlow } from '../../core/jobs.js';
import { heading } from '../../core/widgets.js';

export const path = '/import';
export const titleKey = 'import.title';
export const permission = 'counterparty:import';

const COLUMNS =
  'id, name, relations, legal_form, tax_id, vat_id, group, head_counterparty_id, region, comment, ' +
  'activity_kinds, main_manager, managers, access_group, categories, source, source_date, contact:<kind>, property:<code>';

export function render(ctx) {
  return h(
    'section',
    { class: 'import-page' },
    h('div', { class: 'page-head' }, heading('import.title')),
    h('p', { i18n: 'import.intro' }),
    importFlow(ctx, {
      uploadUrl: '/api/v1/imports/counterparties',
      base: '/api/v1',
      pagePath: path,
      fileLabel: 'import.file',
      fileHint: 'import.fileHint',
      columns: COLUMNS,
      submitKey: 'import.submit',
      countsKey: () => 'jobs.importCounts',
      nameKey: 'field.name',
    }),
  );
}
