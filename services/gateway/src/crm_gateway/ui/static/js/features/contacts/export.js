// Export of counterparties: the list's filters, a format (CSV with the import's columns, or vCard of
// the contact persons), then the export job live (progress bar and counts) and the download.
// ?job=<id> reopens an earlier export.
import * as api from '../../core/api.js';
import { RELATIONS, groupTree } from './counterparty-fields.js';
import { h } from '../../core/dom.js';
import { busy, field, formAlert, input, select, showErrors } from '../../core/forms.js';
import { follow, jobUrl, progressView, recentJobs } from '../../core/jobs.js';
import * as ref from '../../core/reference-cache.js';
import { replaceQuery } from '../../core/router.js';
import { userPicker } from '../../core/user-picker.js';
import { errorBox, heading } from '../../core/widgets.js';

export const path = '/export';
export const titleKey = 'export.title';
export const permission = 'counterparty:export';

const API = '/api/v1/exports/counterparties';
const JOBS_BASE = '/api/v1';
// The filters sent when set: the search text, the managers (chosen by name with the user picker,
// sent as ids) and the reference entries (chosen by name, sent as codes).
const FILTERS = ['q', 'relation', 'main_manager', 'manager', 'group', 'region', 'category'];

/** A choice of one entry of a reference catalog by name (its code is the value); '' is any. */
function entryChoice(entries, anyKey, { tree = false } = {}) {
  const listed = tree ? groupTree(entries) : entries.map((entry) => ({ entry, depth: 0 }));
  return h(
    'select',
    {},
    h('option', { value: '', i18n: anyKey }),
    listed.map(({ entry, depth }) =>
      h('option', { value: entry.code, text: `${'\u00a0\u00a0\u00a0'.repeat(depth)}${ref.localName(entry).name}` }),
    ),
  );
}

export async function render(ctx) {
  const catalogs = await ref.catalogsOrEmpty(['groups', 'regions', 'categories']);
  const mainManager = userPicker({ name: 'main_manager', labelKey: 'field.main_manager', anyKey: 'cp.list.anyManager' });
  const manager = userPicker({ name: 'manager', labelKey: 'export.manager', anyKey: 'cp.list.anyManager' });
  const controls = {
    q: input({ maxlength: '200' }),
    main_manager: mainManager,
    manager,
    group: entryChoice(catalogs.groups, 'export.anyGroup', { tree: true }),
    region: entryChoice(catalogs.regions, 'export.anyRegion'),
    category: entryChoice(ref.applying(catalogs.categories, 'counterparty'), 'export.anyCategory'),
  };
  controls.relation = select([
    { value: '', label: 'export.anyRelation' },
    ...RELATIONS.map((r) => ({ value: r, label: `cp.relation.${r}` })),
  ]);
  controls.archived = select([
    { value: 'false', label: 'export.archived.false' },
    { value: 'true', label: 'export.archived.true' },
    { value: 'any', label: 'export.archived.any' },
  ]);
  controls.format = select([
    { value: 'csv', label: 'export.format.csv' },
    { value: 'vcard', label: 'export.format.vcard' },
  ]);
  controls.delimiter = select([
    { value: ',', label: 'export.delimiter.comma' },
    { value: ';', label: 'export.delimiter.semicolon' },
    { value: '\t', label: 'export.delimiter.tab' },
  ]);
  const submit = h('button', { type: 'submit', class: 'button primary', i18n: 'export.submit' });
  const progress = progressView({ countsKey: () => 'jobs.exportCounts' });
  const download = h('div');
  const recent = h('div');
  const labels = {
    q: 'export.q',
    relation: 'export.relation',
    main_manager: 'field.main_manager',
    manager: 'export.manager',
    group: 'export.group',
    region: 'export.region',
    category: 'export.category',
    archived: 'export.archivedLabel',
    format: 'export.formatLabel',
    delimiter: 'export.delimiterLabel',
  };
  const form = h(
    'form',
    { class: 'export-form', on: { submit: (e) => start(e) } },
    formAlert(),
    h(
      'div',
      { class: 'filters' },
      Object.keys(labels).map((name) =>
        controls[name].wrapper ?? field({ name, label: labels[name], control: controls[name] }),
      ),
    ),
    h('div', { class: 'form-actions' }, submit),
  );

  async function start(event) {
    event.preventDefault();
    download.replaceChildren();
    const body = { format: controls.format.value, archived: controls.archived.value };
    if (body.format === 'csv') body.delimiter = controls.delimiter.value;
    for (const name of FILTERS) {
      const control = controls[name];
      const value = (typeof control.value === 'function' ? control.value() : control.value).trim();
      if (value) body[name] = value;
    }
    busy(form, true);
    try {
      const { data } = await api.post(API, body);
      replaceQuery(path, { job: data.id });
      await watch(data);
    } catch (error) {
      if (error instanceof api.ApiError) showErrors(form, error);
      else form.querySelector('.form-alert').replaceChildren(errorBox(error));
    } finally {
      busy(form, false);
    }
  }

  async function watch(job) {
    const done = await follow(job, { base: JOBS_BASE, signal: ctx.signal, onUpdate: progress.update });
    if (ctx.signal.aborted) return;
    if (done.state === 'succeeded' && done.file) {
      download.replaceChildren(
        h('p', {}, h('a', { class: 'button primary', href: done.file, download: '', i18n: 'export.download' })),
      );
    }
    showRecent();
  }

  async function showRecent() {
    try {
      recent.replaceChildren(await recentJobs({ base: JOBS_BASE, kind: 'export', pagePath: path, signal: ctx.signal }));
    } catch (error) {
      if (error.name !== 'AbortError') recent.replaceChildren(errorBox(error));
    }
  }

  const reopen = ctx.query.get('job');
  if (reopen) {
    api
      .get(jobUrl(JOBS_BASE, reopen), { signal: ctx.signal })
      .then(({ data }) => watch(data))
      .catch((error) => {
        if (error.name !== 'AbortError') download.replaceChildren(errorBox(error));
      });
  } else {
    showRecent();
  }

  return h(
    'section',
    { class: 'export-page' },
    h('div', { class: 'page-head' }, heading('export.title')),
    h('p', { i18n: 'export.intro' }),
    form,
    progress.element,
    download,
    h('h2', { i18n: 'jobs.recent' }),
    recent,
  );
}
