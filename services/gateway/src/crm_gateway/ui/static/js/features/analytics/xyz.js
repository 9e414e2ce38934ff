// Relationship stages and XYZ classes of customers (GET /api/v1/analytics/xyz): the window (the last
// day, the periodicity and the number of periods), the measure, the X and Y bands, the active periods
// from which a customer is regular and the currency; then customers per stage and per class as charts
// beside the same numbers as tables, and the customers a page at a time in code order (the API's
// only order) with their counterparty's card linked; optionally as the CRM knew it at a moment
// (`as_of`, shown in the summary), with the facts left out for lack of a rate as a warning. The
// parameters are kept in the address; the CSV and XLSX files (every customer) carry them. Roles with analytics:classify record the
// parameters as a stage run (POST /xyz/runs: the stages and classes go to the counterparties; a run
// is the CRM's knowledge now, so `as_of` is not part of it); the latest recorded runs are listed below.
// The rule's back-test over past periods (xyz-backtest.js) is linked with the parameters on the form.
import * as api from '../../core/api.js';
import { chart } from '../../core/charts.js';
import { date, dateTime, h } from '../../core/dom.js';
import { busy, clearErrors, field, formAlert, input, setFieldError, showErrors } from '../../core/forms.js';
import { formatDecimal, onLanguageChange, t } from '../../core/i18n.js';
import { today } from '../../core/dates.js';
import { userName } from '../../core/people.js';
import { href, replaceQuery } from '../../core/router.js';
import * as session from '../../core/session.js';
import { errorBox, heading, loading, scrollable } from '../../core/widgets.js';
import { chartOptions, counterpartyCell, pager } from './abc-parts.js';
import { asOfField, asOfNote, downloads, reportRequests, withoutRateNote } from './report-form.js';
import { STAGES, STAGE_COLORS, XYZ, XYZ_COLORS, xyzBadge, xyzRuleFields } from './xyz-parts.js';

export const path = '/analytics/xyz';
export const titleKey = 'analytics.xyz.title';
export const permission = 'counterparty:read';

const API = '/api/v1/analytics';
const RUNS = `${API}/xyz/runs`;
const PAGE_SIZE = 50;
const RECENT_RUNS = 10;
export async function render(ctx) {
  const index = await api.get(API, { signal: ctx.signal }).then(({ data }) => data);
  const to = input({ type: 'date', required: true });
  to.value = ctx.query.get('to') || today();
  const rule = xyzRuleFields(ctx.query, index.reporting_currency);
  rule.rows[0].prepend(field({ name: 'to', label: 'analytics.xyz.to', control: to, required: true, hint: 'analytics.xyz.toHint' }));
  const asOf = asOfField(ctx.query.get('as_of') || '');
  rule.rows[1].append(asOf.field);
  // The back-test of the rule on the form, up to its day.
  const backtestLink = h('a', { class: 'analytics-backtest-link', i18n: 'analytics.backtest.link' });
  const linkBacktest = () => {
    backtestLink.href = href('/analytics/xyz/backtest', { to: to.value, ...rule.values() });
  };

  const form = h(
    'form',
    { class: 'analytics-form xyz-form', novalidate: true, on: { submit: (e) => show(e) } },
    formAlert(),
    rule.rows,
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: 'analytics.abc.show' }),
      session.can('analytics:classify')
        ? h('button', { type: 'button', class: 'button xyz-record', i18n: 'analytics.xyz.record', on: { click: () => record() } })
        : null,
    ),
  );
  const recorded = h('div', { class: 'xyz-recorded', 'aria-live': 'polite' });
  const runs = h('div', { class: 'xyz-runs', 'aria-live': 'polite' }, loading());
  const results = h('div', { class: 'analytics-results', 'aria-live': 'polite' });
  let shown = null; // { params, controller }
  const ask = reportRequests(ctx, form, results);
  linkBacktest();
  form.addEventListener('input', linkBacktest);
  form.addEventListener('change', linkBacktest);

  // Stage runs: the parameters on the form recorded as they are (the report need not be shown first).
  async function record() {
    clearErrors(form);
    recorded.replaceChildren();
    if (!to.value) {
      setFieldError(form, 'to', 'analytics.abc.dateNeeded');
      to.focus();
      return;
    }
    replaceQuery(path, { ...parameters(), as_of: asOf.value() });
    const body = { to: to.value, ...rule.body() };
    busy(form, true);
    try {
      const { status, data, position } = await api.post(RUNS, body, { signal: ctx.signal });
      recorded.replaceChildren(recordedNote(data, status === 201));
      showRuns(data.run_id, position); // the list waits for its view to hold the run just recorded
    } catch (error) {
      if (error.name === 'AbortError') return;
      if (error instanceof api.ApiError && error.status === 422) showErrors(form, error);
      else recorded.replaceChildren(errorBox(error));
    } finally {
      busy(form, false);
    }
  }

  async function showRuns(latest = null, position = null) {
    try {
      const { data } = await api.get(RUNS, { query: { limit: RECENT_RUNS, min_position: position }, signal: ctx.signal });
      runs.replaceChildren(data.items.length ? runsTable(data.items, latest) : h('p', { class: 'empty', i18n: 'analytics.xyz.runsEmpty' }));
    } catch (error) {
      if (error.name !== 'AbortError') runs.replaceChildren(errorBox(error));
    }
  }

  function parameters() {
    return { to: to.value, ...rule.values() };
  }

  async function show(event) {
    event?.preventDefault();
    clearErrors(form);
    if (!to.value) {
      setFieldError(form, 'to', 'analytics.abc.dateNeeded');
      to.focus();
      return;
    }
    const params = { ...parameters(), as_of: asOf.value() };
    replaceQuery(path, params);
    await ask(async (controller) => {
      shown = { params, controller };
      await showPage(params, controller.signal, []);
    });
  }

  async function showPage(params, signal, cursors) {
    const { data } = await api.get(`${API}/xyz`, {
      query: { ...params, limit: PAGE_SIZE, cursor: cursors.at(-1) },
      signal,
    });
    if (signal.aborted) return;
    results.replaceChildren(...drawn(data, params, signal, cursors));
  }

  function drawn(data, params, signal, cursors) {
    const parts = [
      h('h2', { i18n: 'analytics.xyz.stagesAndClasses' }),
      h('p', { class: 'analytics-summary' }, h('span', { i18n: 'analytics.xyz.summary', i18nArgs: { customers: data.customers, from: data.from, to: data.to } })),
      asOfNote(params.as_of),
      withoutRateNote(data.without_rate, data.currency),
    ].filter(Boolean);
    if (!data.customers) {
      parts.push(
        h(
          'div',
          { class: 'empty analytics-empty' },
          h('p', { i18n: 'analytics.abc.empty', i18nArgs: { to: params.to } }),
          h('p', {}, h('a', { href: '#/analytics/import', i18n: 'analytics.abc.emptyImport' })),
        ),
      );
      return parts;
    }
    parts.push(
      h(
        'div',
        { class: 'analytics-overview' },
        countChart('stages', STAGES, (s) => t(`analytics.stage.${s}`), data.stages, STAGE_COLORS, signal).element,
        countTable('analytics.xyz.stagesCaption', 'analytics.xyz.col.stage', STAGES, (s) => h('span', { i18n: `analytics.stage.${s}` }), data.stages, 'stage'),
      ),
      h(
        'div',
        { class: 'analytics-overview' },
        countChart('classes', XYZ, (c) => t('analytics.abc.class', { class: c }), data.classes, XYZ_COLORS, signal).element,
        countTable('analytics.xyz.classesCaption', 'analytics.xyz.col.class', XYZ, (c) => xyzBadge(c), data.classes, 'class'),
      ),
      h('h2', { i18n: 'analytics.abc.customers' }),
      rowsTable(data.rows),
      pager({
        cursors,
        next: data.next_cursor,
        turn: async (pages) => {
          try {
            await showPage(params, signal, pages);
          } catch (error) {
            if (error.name !== 'AbortError') results.append(errorBox(error));
          }
        },
        label: h('span', { class: 'muted', i18n: 'analytics.xyz.customersOf', i18nArgs: { customers: data.customers } }),
      }),
      downloads(`${API}/xyz`, params),
    );
    return parts;
  }

  // Numbers are formatted for the language on screen: a switch draws the report again.
  const stop = onLanguageChange(() => {
    if (shown && !shown.controller.signal.aborted && results.childElementCount) show();
  });
  ctx.signal.addEventListener('abort', stop);
  if (ctx.query.get('to')) show();
  // Recorded runs are read with analytics:read; a sales manager sees the report of their groups only.
  const readsRuns = session.can('analytics:read');
  if (readsRuns) showRuns();

  return h(
    'section',
    { class: 'analytics-page analytics-xyz' },
    h('div', { class: 'page-head' }, heading('analytics.xyz.title')),
    h('p', { class: 'muted', i18n: 'analytics.xyz.intro' }),
    h('p', {}, backtestLink),
    form,
    recorded,
    results,
    readsRuns ? h('h2', { i18n: 'analytics.xyz.runs' }) : null,
    readsRuns ? runs : null,
  );
}

// What recording answered: a new run (201) or the run these parameters recorded before (200).
function recordedNote(run, created) {
  const args = { as_of: run.as_of, scheme: run.scheme, customers: run.customers, changed: run.changed };
  return h(
    'p',
    { class: 'alert alert-success', role: 'status', dataset: { runId: run.run_id, recorded: created ? 'new' : 'before' } },
    h('span', { i18n: created ? 'analytics.xyz.recordedNew' : 'analytics.xyz.recordedBefore', i18nArgs: args }),
  );
}

function runsTable(items, latest) {
  const columns = ['asOf', 'scheme', 'customers', 'changed', 'recorded'];
  return scrollable(
    h(
      'table',
      { class: 'data-table xyz-runs-table' },
      h('caption', { class: 'visually-hidden', i18n: 'analytics.xyz.runs' }),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', i18n: `analytics.xyz.runCol.${c}` })))),
      h(
        'tbody',
        {},
        items.map((run) =>
          h(
            'tr',
            { dataset: { runId: run.run_id }, 'aria-current': run.run_id === latest ? 'true' : null },
            h('td', {}, date(run.as_of)),
            h('td', {}, h('code', { text: run.scheme })),
            h('td', { class: 'num', text: String(run.customers) }),
            h('td', { class: 'num', text: String(run.changed) }),
            h('td', {}, userName(run.recorded_by), h('br'), dateTime(run.recorded_at)),
          ),
        ),
      ),
    ),
  );
}

function countChart(name, keys, label, counts, colors, signal) {
  const spec = () => ({
    type: 'bar',
    data: {
      labels: keys.map(label),
      datasets: [{ label: t('analytics.abc.chartCustomers'), data: keys.map((k) => counts[k] ?? 0), backgroundColor: keys.map((k) => colors[k]) }],
    },
    options: {
      ...chartOptions(),
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: t('analytics.abc.chartCustomers') } } },
    },
  });
  return chart({ spec, labelKey: `analytics.xyz.chart.${name}`, className: `chart analytics-chart xyz-chart-${name}`, signal });
}

function countTable(caption, column, keys, cell, counts, kind) {
  return scrollable(
    h(
      'table',
      { class: `data-table xyz-${kind}-table` },
      h('caption', { i18n: caption }),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', i18n: column }), h('th', { scope: 'col', i18n: 'analytics.abc.col.customers' }))),
      h(
        'tbody',
        {},
        keys.map((k) => h('tr', { dataset: { [kind]: k } }, h('th', { scope: 'row' }, cell(k)), h('td', { class: 'num', text: String(counts[k] ?? 0) }))),
      ),
    ),
  );
}

function rowsTable(rows) {
  const columns = ['customer', 'counterparty', 'stage', 'class', 'coefficient', 'mean', 'total', 'values', 'active'];
  const decimal = (value) => (value === null ? '—' : formatDecimal(value));
  return scrollable(
    h(
      'table',
      { class: 'data-table analytics-rows xyz-rows' },
      h('caption', { class: 'visually-hidden', i18n: 'analytics.abc.customers' }),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', i18n: `analytics.xyz.col.${c}` })))),
      h(
        'tbody',
        {},
        rows.map((row) =>
          h(
            'tr',
            { dataset: { customer: row.customer, stage: row.stage } },
            h('td', {}, h('code', { text: row.customer })),
            h('td', {}, counterpartyCell(row)),
            h('td', { i18n: `analytics.stage.${row.stage}` }),
            h('td', {}, row.class ? xyzBadge(row.class) : '—'),
            h('td', { class: 'num', text: row.coefficient === null ? '—' : `${formatDecimal(row.coefficient)} %` }),
            h('td', { class: 'num', text: decimal(row.mean) }),
            h('td', { class: 'num', text: decimal(row.total) }),
            h('td', { class: 'num', text: String(row.values) }),
            h('td', { class: 'num', text: String(row.active_periods) }),
          ),
        ),
      ),
    ),
  );
}
