// ABC classification runs (/api/v1/analytics/abc/runs). Without ?run=: the runs, newest first
// (period, measure, shares, state, who and when), and for roles with analytics:classify the form that
// starts one with the ABC page's parameters (abc-parts.js). With ?run=<id>: the run — a draft's
// preview (the class distribution, the movement between classes and the rows as confirming it now
// would record them) with Confirm for analytics:classify; a confirmed run's distribution, movement
// (chart and table), and rows with the previous class and ↑/↓/new, filtered by class and movement
// (?class=, ?marker=), a page at a time; a click on a customer shows its class history, and
// analytics:classify may set a customer's class by hand with a reason.
import * as api from '../../core/api.js';
import { chart } from '../../core/charts.js';
import { dateTime, h } from '../../core/dom.js';
import { busy, clearErrors, field, formAlert, select, showErrors } from '../../core/forms.js';
import { formatDecimal, onLanguageChange, t } from '../../core/i18n.js';
import { userName } from '../../core/people.js';
import { location, navigate } from '../../core/router.js';
import * as session from '../../core/session.js';
import { errorBox, heading, loading, notFound, scrollable } from '../../core/widgets.js';
import {
  CLASSES,
  COLORS,
  abcParameters,
  chartOptions,
  classBadge,
  classTable,
  counterpartyCell,
  distributionChart,
  movementTable,
  pager,
  shareText,
} from './abc-parts.js';

export const path = '/analytics/runs';
export const titleKey = 'analytics.runs.title';
export const permission = 'analytics:read';

const API = '/api/v1/analytics';
const RUNS = `${API}/abc/runs`;
const PAGE_SIZE = 50;
const MARKERS = ['up', 'down', 'same', 'new'];
const SYMBOLS = { up: '↑', down: '↓', same: '=' };
const BEFORE = ['A', 'B', 'C', null]; // previous classes of the movement; null: new

/** The address of a run's page, with its filters and the log position to wait for. */
function runAddress(runId, query = {}) {
  const params = new URLSearchParams({ run: runId });
  for (const [key, value] of Object.entries(query)) if (value !== null && value !== undefined && value !== '') params.set(key, value);
  return `${path}?${params}`;
}

export async function render(ctx) {
  const runId = ctx.query.get('run');
  return runId ? runPage(ctx, runId) : listPage(ctx);
}

// -- the list and the start form ------------------------------------------------------------------

async function listPage(ctx) {
  const canClassify = session.can('analytics:classify');
  const list = h('div', { class: 'analytics-run-list', 'aria-live': 'polite' }, loading());
  const parts = [h('div', { class: 'page-head' }, heading('analytics.runs.title')), h('p', { class: 'muted', i18n: 'analytics.runs.intro' })];
  let form = null;
  if (canClassify) {
    const index = await api.get(API, { signal: ctx.signal }).then(({ data }) => data);
    form = startForm(index.reporting_currency);
    parts.push(h('h2', { i18n: 'analytics.runs.start' }), form);
  }
  parts.push(h('h2', { i18n: 'analytics.runs.list' }), list);

  async function showPage(cursors) {
    try {
      const { data } = await api.get(RUNS, {
        query: { limit: PAGE_SIZE, cursor: cursors.at(-1), min_position: ctx.query.get('min_position') },
        signal: ctx.signal,
      });
      if (!data.items.length && !cursors.length) {
        list.replaceChildren(emptyRuns(canClassify, form));
        return;
      }
      list.replaceChildren(runsTable(data.items), pager({ cursors, next: data.next_cursor, turn: showPage, label: null }));
    } catch (error) {
      if (error.name !== 'AbortError') list.replaceChildren(errorBox(error));
    }
  }
  showPage([]);
  return h('section', { class: 'analytics-page analytics-runs' }, parts);
}

function emptyRuns(canClassify, form) {
  if (!canClassify) return h('div', { class: 'empty analytics-empty' }, h('p', { i18n: 'analytics.runs.emptyRead' }));
  const start = h('button', {
    type: 'button',
    class: 'button',
    i18n: 'analytics.runs.emptyStart',
    on: { click: () => form.querySelector('select, input')?.focus() },
  });
  return h('div', { class: 'empty analytics-empty' }, h('p', { i18n: 'analytics.runs.empty' }), h('p', {}, start));
}

function startForm(reportingCurrency) {
  const controls = abcParameters({ reportingCurrency });
  const submit = h('button', { type: 'submit', class: 'button primary', i18n: 'analytics.runs.create' });
  const form = h(
    'form',
    { class: 'analytics-form analytics-run-form', novalidate: true, on: { submit: (e) => create(e) } },
    formAlert(),
    controls.params,
    controls.shares,
    h('p', { class: 'field-hint', i18n: 'analytics.runs.createHint' }),
    h('div', { class: 'form-actions' }, submit),
  );
  async function create(event) {
    event.preventDefault();
    clearErrors(form);
    if (!controls.check(form)) return;
    const { currency, ...rest } = controls.values();
    busy(form, true);
    try {
      const body = currency ? { ...rest, currency } : rest;
      const { data, position } = await api.post(RUNS, body, { idempotencyKey: api.newIdempotencyKey() });
      navigate(runAddress(data.run_id, { min_position: position }));
    } catch (error) {
      if (error.name !== 'AbortError') showErrors(form, error);
    } finally {
      busy(form, false);
    }
  }
  return form;
}

function runsTable(items) {
  const columns = ['period', 'measure', 'shares', 'status', 'customers', 'created', 'confirmed'];
  return scrollable(
    h(
      'table',
      { class: 'data-table analytics-run-table' },
      h('caption', { class: 'visually-hidden', i18n: 'analytics.runs.list' }),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', i18n: `analytics.runs.col.${c}` })))),
      h(
        'tbody',
        {},
        items.map((run) =>
          h(
            'tr',
            { dataset: { run: run.run_id, status: run.status } },
            h('td', {}, h('a', { href: `#${runAddress(run.run_id)}`, text: `${run.from} – ${run.to}` })),
            h('td', { i18n: `analytics.measure.${run.by}` }),
            h('td', { text: `${run.shares} ${run.currency}` }),
            h('td', {}, statusBadge(run)),
            h('td', { class: 'num', text: run.customers === null ? '—' : String(run.customers) }),
            h('td', {}, userName(run.created_by), h('br'), dateTime(run.created_at)),
            h('td', {}, run.confirmed_at ? [userName(run.confirmed_by), h('br'), dateTime(run.confirmed_at)] : '—'),
          ),
        ),
      ),
    ),
  );
}

function statusBadge(run) {
  return h('span', {
    class: `badge analytics-status analytics-status-${run.status}`,
    i18n: `analytics.runs.status.${run.status}`,
  });
}

// -- one run ----------------------------------------------------------------------------------------

async function runPage(ctx, runId) {
  const position = ctx.query.get('min_position');
  let run;
  try {
    ({ data: run } = await api.get(`${RUNS}/${encodeURIComponent(runId)}`, {
      query: { min_position: position },
      signal: ctx.signal,
    }));
  } catch (error) {
    if (error instanceof api.ApiError && (error.status === 404 || error.status === 422)) return notFound();
    throw error;
  }
  // Amounts are formatted for the language on screen: a switch draws the run again.
  const stop = onLanguageChange(() => {
    const { path: here, query } = location();
    navigate(`${here}?${query}`, { replace: true });
  });
  ctx.signal.addEventListener('abort', stop);
  const canClassify = session.can('analytics:classify');
  const filters = { class: ctx.query.get('class') || '', marker: ctx.query.get('marker') || '' };
  const reload = (at) => navigate(runAddress(runId, { ...filters, min_position: at }), { replace: true });

  const parts = [
    h('p', {}, h('a', { href: `#${path}`, i18n: 'analytics.runs.back' })),
    h('div', { class: 'page-head' }, heading('analytics.runs.runTitle', { from: run.from, to: run.to })),
    runFacts(run),
  ];
  if (run.status === 'draft') {
    if (canClassify) parts.push(confirmBar(run, reload));
    else parts.push(h('p', { class: 'muted', i18n: 'analytics.runs.draftReadOnly' }));
    parts.push(h('h2', { i18n: 'analytics.runs.preview' }), h('p', { class: 'muted', i18n: 'analytics.runs.previewHint' }));
  }
  const summary = h('div', { class: 'analytics-run-summary', 'aria-live': 'polite' }, loading());
  const movement = h('div', { class: 'analytics-movement' });
  const rows = h('div', { class: 'analytics-run-rows', 'aria-live': 'polite' });
  const side = h('div', { class: 'analytics-side' }); // the history or the override form
  parts.push(summary, h('h2', { i18n: 'analytics.runs.movement' }), movement, h('h2', { i18n: 'analytics.abc.customers' }));
  if (run.status === 'confirmed') parts.push(rowFilters(filters, runId));
  parts.push(side, rows);

  const page = { ctx, run, canClassify, rows, side, reload, position, filters };
  if (run.status === 'confirmed') {
    summary.replaceChildren(...overview(run.classes, run.total, run.currency, run.customers, ctx.signal));
    showRows(page, []);
  } else {
    showPreview(page, summary, []);
  }
  showMovement(page, movement);
  return h('section', { class: 'analytics-page analytics-run' }, parts);
}

function runFacts(run) {
  const item = (key, ...value) => [h('dt', { i18n: key }), h('dd', {}, ...value)];
  return h(
    'dl',
    { class: 'analytics-run-facts' },
    item('analytics.runs.col.status', statusBadge(run)),
    item('analytics.runs.col.measure', h('span', { i18n: `analytics.measure.${run.by}` })),
    item('analytics.runs.col.shares', `${run.shares} ${run.currency}`),
    item('analytics.runs.col.created', userName(run.created_by), ', ', dateTime(run.created_at)),
    run.confirmed_at ? item('analytics.runs.col.confirmed', userName(run.confirmed_by), ', ', dateTime(run.confirmed_at)) : null,
    run.previous_run_id
      ? item('analytics.runs.previousRun', h('a', { href: `#${runAddress(run.previous_run_id)}`, i18n: 'analytics.runs.open' }))
      : null,
    run.overrides ? item('analytics.runs.overrides', String(run.overrides)) : null,
  );
}

function confirmBar(run, reload) {
  const button = h('button', { type: 'button', class: 'button primary', i18n: 'analytics.runs.confirm' });
  const message = h('div', { class: 'form-alert', role: 'alert' });
  button.addEventListener('click', async () => {
    button.disabled = true;
    message.replaceChildren();
    try {
      const { position } = await api.post(`${RUNS}/${encodeURIComponent(run.run_id)}/confirm`, undefined, {
        idempotencyKey: api.newIdempotencyKey(),
      });
      reload(position);
    } catch (error) {
      button.disabled = false;
      message.replaceChildren(errorBox(error));
    }
  });
  return h(
    'div',
    { class: 'analytics-confirm' },
    h('p', { i18n: 'analytics.runs.confirmHint' }),
    button,
    message,
  );
}

/** The summary line, the class chart and the class table. */
function overview(classes, total, currency, customers, signal) {
  if (!customers) {
    return [
      h(
        'div',
        { class: 'empty analytics-empty' },
        h('p', { i18n: 'analytics.runs.noCustomers' }),
        h('p', {}, h('a', { href: '#/analytics/import', i18n: 'analytics.abc.emptyImport' })),
      ),
    ];
  }
  return [
    h('p', { class: 'analytics-summary' }, h('span', { i18n: 'analytics.abc.summary', i18nArgs: { customers, total: formatDecimal(total), currency } })),
    h('div', { class: 'analytics-overview' }, distributionChart(classes, currency, signal).element, classTable(classes, total)),
  ];
}

async function showPreview(page, summary, cursors) {
  const { ctx, run, rows } = page;
  try {
    const { data } = await api.get(`${RUNS}/${encodeURIComponent(run.run_id)}/preview`, {
      query: { limit: PAGE_SIZE, cursor: cursors.at(-1), min_position: page.position },
      signal: ctx.signal,
    });
    if (!cursors.length) summary.replaceChildren(...overview(data.classes, data.total, run.currency, data.customers, ctx.signal));
    if (!data.customers) {
      rows.replaceChildren();
      return;
    }
    const label = rowsLabel(data.rows, data.customers);
    rows.replaceChildren(
      rowsTable(page, data.rows, data.total, false),
      pager({ cursors, next: data.next_cursor, turn: (next) => showPreview(page, summary, next), label }),
    );
  } catch (error) {
    if (error.name !== 'AbortError') summary.replaceChildren(errorBox(error));
  }
}

async function showRows(page, cursors) {
  const { ctx, run, rows, filters } = page;
  try {
    const { data } = await api.get(`${RUNS}/${encodeURIComponent(run.run_id)}/rows`, {
      query: { limit: PAGE_SIZE, cursor: cursors.at(-1), class: filters.class, marker: filters.marker, min_position: page.position },
      signal: ctx.signal,
    });
    if (!data.items.length && !cursors.length) {
      rows.replaceChildren(h('p', { class: 'empty', i18n: 'analytics.runs.noRows' }));
      return;
    }
    const filtered = filters.class || filters.marker;
    const label = filtered ? null : rowsLabel(data.items, run.customers);
    rows.replaceChildren(
      rowsTable(page, data.items, run.total, true),
      pager({ cursors, next: data.next_cursor, turn: (next) => showRows(page, next), label }),
    );
  } catch (error) {
    if (error.name !== 'AbortError') rows.replaceChildren(errorBox(error));
  }
}

function rowsLabel(items, customers) {
  const first = items.length ? items[0].place : 0;
  const last = items.length ? items.at(-1).place : 0;
  return h('span', { class: 'muted', i18n: 'analytics.abc.rowsOf', i18nArgs: { first, last, customers } });
}

function rowFilters(filters, runId) {
  const byClass = select([{ value: '', label: 'analytics.runs.allClasses' }, ...CLASSES.map((c) => ({ value: c, label: `analytics.runs.classOption.${c}` }))]);
  const byMarker = select([{ value: '', label: 'analytics.runs.allMarkers' }, ...MARKERS.map((m) => ({ value: m, label: `analytics.marker.${m}` }))]);
  byClass.value = filters.class;
  byMarker.value = filters.marker;
  const apply = () => navigate(runAddress(runId, { class: byClass.value, marker: byMarker.value }), { replace: true });
  byClass.addEventListener('change', apply);
  byMarker.addEventListener('change', apply);
  return h(
    'div',
    { class: 'analytics-params analytics-filters' },
    field({ name: 'class', label: 'analytics.runs.filterClass', control: byClass }),
    field({ name: 'marker', label: 'analytics.runs.filterMarker', control: byMarker }),
  );
}

/** A run's rows (confirmed) or the preview's; `recorded` rows may be overridden and have a history. */
function rowsTable(page, items, total, recorded) {
  const columns = ['place', 'customer', 'counterparty', 'value', 'share', 'class', 'previous', 'marker'];
  const canOverride = recorded && page.canClassify;
  return scrollable(
    h(
      'table',
      { class: 'data-table analytics-rows analytics-run-rows-table' },
      h('caption', { class: 'visually-hidden', i18n: 'analytics.abc.customers' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', { scope: 'col', i18n: `analytics.runs.col.${c}` })),
          canOverride ? h('th', { scope: 'col', i18n: 'analytics.runs.col.actions' }) : null,
        ),
      ),
      h(
        'tbody',
        {},
        items.map((row) =>
          h(
            'tr',
            { dataset: { customer: row.customer, marker: row.marker } },
            h('td', { class: 'num', text: String(row.place) }),
            h(
              'td',
              {},
              recorded
                ? h('button', {
                    type: 'button',
                    class: 'button-quiet analytics-history-button',
                    text: row.customer,
                    i18nAttrs: { title: 'analytics.runs.historyOf' },
                    i18nArgs: { customer: row.customer },
                    on: { click: () => showHistory(page, row.customer) },
                  })
                : h('code', { text: row.customer }),
            ),
            h('td', {}, counterpartyCell(row)),
            h('td', { class: 'num', text: formatDecimal(row.value) }),
            h('td', { class: 'num', text: row.share === null || Number(total) <= 0 ? '—' : shareText(row.value, total) }),
            h('td', {}, classCell(row)),
            h('td', {}, row.previous_class ? classBadge(row.previous_class) : '—'),
            h('td', {}, markerBadge(row.marker)),
            canOverride
              ? h(
                  'td',
                  {},
                  h('button', {
                    type: 'button',
                    class: 'button button-small',
                    i18n: 'analytics.runs.override',
                    on: { click: () => overrideForm(page, row) },
                  }),
                )
              : null,
          ),
        ),
      ),
    ),
  );
}

function classCell(row) {
  if (!row.override) return classBadge(row.class);
  return h(
    'span',
    { class: 'analytics-overridden' },
    classBadge(row.class),
    ' ',
    h('span', { class: 'muted', i18n: 'analytics.runs.computed', i18nArgs: { class: row.computed_class } }),
  );
}

function markerBadge(marker) {
  if (marker === 'new') return h('span', { class: 'analytics-marker analytics-marker-new', i18n: 'analytics.marker.new' });
  return h(
    'span',
    { class: `analytics-marker analytics-marker-${marker}`, i18nAttrs: { title: `analytics.marker.${marker}` } },
    h('span', { 'aria-hidden': 'true', text: SYMBOLS[marker] }),
    h('span', { class: 'visually-hidden', i18n: `analytics.marker.${marker}` }),
  );
}

// -- movement between classes -----------------------------------------------------------------------

async function showMovement(page, box) {
  try {
    const { data } = await api.get(`${RUNS}/${encodeURIComponent(page.run.run_id)}/movement`, {
      query: { min_position: page.position },
      signal: page.ctx.signal,
    });
    if (!data.customers) {
      box.replaceChildren();
      return;
    }
    const count = (before, now) => data.moves.find((m) => m.previous_class === before && m.class === now)?.customers ?? 0;
    box.replaceChildren(
      h(
        'div',
        { class: 'analytics-overview' },
        movementChart(count, page.ctx.signal).element,
        movementTable({ count: (before, now) => count(before === 'new' ? null : before, now) }),
      ),
    );
  } catch (error) {
    if (error.name !== 'AbortError') box.replaceChildren(errorBox(error));
  }
}

const beforeLabel = (before) => (before === null ? t('analytics.marker.new') : t('analytics.abc.class', { class: before }));

/** Stacked bars: one per previous class (A, B, C, new), split by the class now. */
function movementChart(count, signal) {
  const spec = () => ({
    type: 'bar',
    data: {
      labels: BEFORE.map(beforeLabel),
      datasets: CLASSES.map((now) => ({
        label: t('analytics.runs.movementTo', { class: now }),
        data: BEFORE.map((before) => count(before, now)),
        backgroundColor: COLORS[now],
      })),
    },
    options: {
      ...chartOptions(),
      scales: {
        x: { stacked: true, title: { display: true, text: t('analytics.runs.movementFrom') } },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: t('analytics.abc.chartCustomers') } },
      },
    },
  });
  return chart({ spec, labelKey: 'analytics.runs.movementChart', className: 'chart analytics-movement-chart', signal });
}

// -- a customer's history and the override ----------------------------------------------------------

async function showHistory(page, customer) {
  const { side, run } = page;
  const close = h('button', { type: 'button', class: 'button button-small', i18n: 'analytics.runs.close', on: { click: () => side.replaceChildren() } });
  const panel = h('section', { class: 'panel analytics-history' }, h('h3', { i18n: 'analytics.runs.historyOf', i18nArgs: { customer } }), loading(), close);
  side.replaceChildren(panel);
  try {
    const { data } = await api.get(`${API}/abc/customers/${encodeURIComponent(customer)}/history`, {
      query: { scheme: run.scheme, limit: 100 },
      signal: page.ctx.signal,
    });
    const columns = ['period', 'class', 'previous', 'marker', 'reason'];
    panel.replaceChildren(
      panel.firstChild,
      scrollable(
        h(
          'table',
          { class: 'data-table analytics-history-table' },
          h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', i18n: `analytics.runs.col.${c}` })))),
          h(
            'tbody',
            {},
            data.items.map((row) =>
              h(
                'tr',
                { dataset: { run: row.run_id } },
                h('td', {}, h('a', { href: `#${runAddress(row.run_id)}`, text: `${row.from} – ${row.to}` })),
                h('td', {}, classCell(row)),
                h('td', {}, row.previous_class ? classBadge(row.previous_class) : '—'),
                h('td', {}, markerBadge(row.marker)),
                h('td', { text: row.override?.reason ?? '' }),
              ),
            ),
          ),
        ),
      ),
      close,
    );
    panel.querySelector('h3').setAttribute('tabindex', '-1');
    panel.querySelector('h3').focus();
  } catch (error) {
    if (error.name !== 'AbortError') panel.replaceChildren(panel.firstChild, errorBox(error), close);
  }
}

function overrideForm(page, row) {
  const { side, run } = page;
  const klass = select(CLASSES.map((c) => ({ value: c, label: `analytics.runs.classOption.${c}` })));
  klass.value = row.class;
  const reason = h('textarea', { rows: '3', maxlength: '1000' });
  const form = h(
    'form',
    { class: 'panel analytics-override', novalidate: true },
    h('h3', { i18n: 'analytics.runs.overrideOf', i18nArgs: { customer: row.customer }, tabindex: '-1' }),
    formAlert(),
    field({ name: 'class', label: 'analytics.runs.newClass', control: klass }),
    field({ name: 'reason', label: 'analytics.runs.reason', control: reason, required: true, hint: 'analytics.runs.reasonHint' }),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: 'analytics.runs.save' }),
      h('button', { type: 'button', class: 'button', i18n: 'analytics.runs.cancel', on: { click: () => side.replaceChildren() } }),
    ),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    busy(form, true);
    try {
      const body = { customer: row.customer, class: klass.value, reason: reason.value };
      const { position } = await api.post(`${RUNS}/${encodeURIComponent(run.run_id)}/overrides`, body, { idempotencyKey: api.newIdempotencyKey() });
      page.reload(position);
    } catch (error) {
      if (error.name !== 'AbortError') showErrors(form, error);
    } finally {
      busy(form, false);
    }
  });
  side.replaceChildren(form);
  klass.focus();
}
