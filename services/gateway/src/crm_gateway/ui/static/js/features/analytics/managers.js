// The sales-manager comparison (GET /api/v1/analytics/managers and /managers/{manager}/customers):
// the period (a preset or two days) and how sales are credited (to the customer's manager on each
// sale's day, or all to today's manager); then a bar chart comparing the managers on the indicator
// the user picks (revenue first), and the table of every indicator, one row per manager (by name;
// the "no manager" row explained under it) with the total at its foot, sorted by the API by the
// column whose header is chosen (again: the other way round). A manager's name opens their customers
// (revenue, cost, discounts, deals, orders, debts), each linked to the counterparty's card. CSV and XLSX of the
// comparison with the same parameters; optionally as the CRM knew it at a moment (`as_of`, said above
// the figures, the drill-down and the files too). Sales managers and read-only users see what concerns their
// access groups (the API limits them). The parameters are kept in the address, so a reload or a link
// shows the same comparison.
import * as api from '../../core/api.js';
import { chart } from '../../core/charts.js';
import { h, uid } from '../../core/dom.js';
import { clearErrors, field, formAlert, select } from '../../core/forms.js';
import { formatDecimal, onLanguageChange, t } from '../../core/i18n.js';
import { displayName, users } from '../../core/people.js';
import { replaceQuery } from '../../core/router.js';
import { errorBox, heading, scrollable } from '../../core/widgets.js';
import { chartOptions, counterpartyCell, pager } from './abc-parts.js';
import { periodFields } from './periods.js';
import { asOfField, asOfNote, downloads, reportRequests } from './report-form.js';

export const path = '/analytics/managers';
export const titleKey = 'analytics.managers.title';
export const permission = 'counterparty:read';

const API = '/api/v1/analytics';
const CREDITS = ['at_the_time', 'current'];
/** The indicators in the API's order (the columns of the table). */
const INDICATORS = [
  'revenue',
  'cost',
  'discounts',
  'deals',
  'first_deals',
  'clients',
  'deals_per_client',
  'revenue_per_deal',
  'counterparties',
  'contact_completeness',
  'orders_issued',
  'orders_amount',
  'orders_paid',
  'orders_unpaid',
  'orders_partly_paid',
  'receivables',
  'debtors',
  'average_debt_age',
  'overdue',
  'overdue_debtors',
  'average_days_overdue',
  'max_days_overdue',
  'advances',
  'interactions',
  'interaction_minutes',
  'average_interaction_minutes',
  'without_rate',
];
const CUSTOMER_COLUMNS = ['revenue', 'cost', 'discounts', 'deals', 'first_deals', 'orders_issued', 'receivables', 'overdue', 'advances'];
const CUSTOMERS_PAGE = 50;
const NO_MANAGER_PATH = '-'; // the drill-down's name of the "no manager" row

export async function render(ctx) {
  const index = await api.get(API, { signal: ctx.signal }).then(({ data }) => data);
  const currency = index.reporting_currency;
  const wanted = (name) => ctx.query.get(name) || '';
  let sort = ['manager', ...INDICATORS].includes(wanted('sort')) ? wanted('sort') : 'revenue';
  let order = wanted('order') === 'asc' ? 'asc' : 'desc';
  let shown = INDICATORS.includes(wanted('chart')) ? wanted('chart') : 'revenue';

  const period = periodFields({ from: wanted('from'), to: wanted('to') });
  const credit = select(CREDITS.map((c) => ({ value: c, label: `analytics.managers.credit.${c}` })));
  credit.value = CREDITS.includes(wanted('credit')) ? wanted('credit') : 'at_the_time';
  const asOf = asOfField(wanted('as_of'));
  const indicator = h(
    'select',
    {},
    INDICATORS.map((i) => h('option', { value: i, i18n: `analytics.managers.col.${i}`, i18nArgs: { currency } })),
  );
  indicator.value = shown;
  const indicatorField = field({ name: 'chart', label: 'analytics.managers.chartIndicator', control: indicator });
  indicator.addEventListener('change', () => {
    shown = indicator.value;
    if (report?.answer) {
      address();
      draw();
    }
  });

  const submit = h('button', { type: 'submit', class: 'button primary', i18n: 'analytics.managers.show' });
  const form = h(
    'form',
    { class: 'analytics-form', novalidate: true, on: { submit: (e) => show(e) } },
    formAlert(),
    h(
      'div',
      { class: 'analytics-params analytics-params-top' },
      period.fields,
      field({ name: 'credit', label: 'analytics.managers.creditLabel', control: credit, hint: 'analytics.managers.creditHint' }),
      asOf.field,
    ),
    h('div', { class: 'form-actions' }, submit),
  );
  const results = h('div', { class: 'analytics-results', 'aria-live': 'polite' });
  const customers = h('section', { class: 'analytics-manager-customers', 'aria-live': 'polite' });
  let report = null; // { params, controller, answer, names, drawing }
  const ask = reportRequests(ctx, form, results);

  /** The comparison's parameters as the API takes them (the defaults left out). */
  function values() {
    const params = { ...period.values() };
    if (credit.value !== 'at_the_time') params.credit = credit.value;
    if (asOf.value()) params.as_of = asOf.value();
    if (sort !== 'revenue') params.sort = sort;
    if (order !== 'desc') params.order = order;
    return params;
  }

  function address() {
    replaceQuery(path, { ...report.params, chart: shown === 'revenue' ? '' : shown });
  }

  async function show(event) {
    event?.preventDefault();
    clearErrors(form);
    if (!period.check(form)) {
      form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    const params = values();
    await ask(async (controller) => {
      report = { params, controller, answer: null, names: null, drawing: null };
      address();
      customers.replaceChildren();
      const { data } = await api.get(`${API}/managers`, { query: params, signal: controller.signal });
      const names = await namesOf(data.rows.map((r) => r.manager));
      if (controller.signal.aborted) return;
      report.answer = data;
      report.names = names;
      draw();
    });
  }

  /** The answer on screen drawn again (the chart made anew, e.g. for another indicator). */
  function draw() {
    const { answer: data, names, params, controller } = report;
    report.drawing?.abort();
    const drawing = new AbortController();
    report.drawing = drawing;
    controller.signal.addEventListener('abort', () => drawing.abort());
    if (!data.rows.length) {
      results.replaceChildren(
        ...[asOfNote(params.as_of)].filter(Boolean),
        h(
          'div',
          { class: 'empty analytics-empty' },
          h('p', { i18n: 'analytics.managers.empty', i18nArgs: { from: data.from, to: data.to } }),
          h('p', {}, h('a', { href: '#/analytics/import', i18n: 'analytics.abc.emptyImport' })),
        ),
      );
      return;
    }
    const noteId = uid('no-manager');
    results.replaceChildren(
      ...[
        asOfNote(params.as_of),
        withoutRate(data),
        h('h2', { i18n: 'analytics.managers.chartTitle' }),
        indicatorField,
        managersChart(data, names, drawing.signal).element,
        h('h2', { i18n: 'analytics.managers.tableTitle' }),
        h('p', {
          class: 'analytics-summary',
          i18n: `analytics.managers.summary.${data.credit}`,
          i18nArgs: {
            managers: data.rows.filter((r) => r.manager !== '').length,
            revenue: formatDecimal(data.total.revenue),
            currency: data.currency,
          },
        }),
        managersTable(data, names, noteId),
        data.rows.some((r) => r.manager === '')
          ? h('p', { class: 'muted analytics-no-manager-note', id: noteId, i18n: 'analytics.managers.noManagerNote' })
          : null,
        downloads(`${API}/managers`, params),
      ].filter(Boolean),
    );
  }

  /** The managers on the chosen indicator, greatest first (ties by name); a manager without a value is left out. */
  function managersChart(data, names, signal) {
    const rows = data.rows
      .filter((r) => r[shown] !== null)
      .sort((a, b) => Number(b[shown]) - Number(a[shown]) || names.get(a.manager).localeCompare(names.get(b.manager)));
    const spec = () => ({
      type: 'bar',
      data: {
        labels: rows.map((r) => names.get(r.manager)),
        datasets: [
          {
            label: columnText(shown, data.currency),
            data: rows.map((r) => Number(r[shown])), // drawn only: the table has the exact figures
            backgroundColor: rows.map((r) => (r.manager === '' ? '#5f6b78' : '#2c5fa8')),
          },
        ],
      },
      options: {
        ...chartOptions(),
        indexAxis: 'y',
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, title: { display: true, text: columnText(shown, data.currency) } } },
      },
    });
    return chart({
      spec,
      labelKey: 'analytics.managers.chartLabel',
      labelArgs: { indicator: columnText(shown, data.currency) },
      className: 'chart analytics-chart',
      signal,
    });
  }

  function managersTable(data, names, noteId) {
    const header = (column) => {
      const active = sort === column;
      return h(
        'th',
        {
          scope: 'col',
          class: column === 'manager' ? null : 'num',
          'aria-sort': active ? (order === 'desc' ? 'descending' : 'ascending') : null,
        },
        h('button', {
          type: 'button',
          class: `link-button${active ? ' active' : ''}`,
          dataset: { sort: column },
          i18n: `analytics.managers.col.${column}`,
          i18nArgs: { currency: data.currency },
          on: {
            click: async () => {
              // The same column again turns the order round; another starts with the greatest (names A–Z).
              order = active ? (order === 'desc' ? 'asc' : 'desc') : column === 'manager' ? 'asc' : 'desc';
              sort = column;
              await show();
              results.querySelector(`th button[data-sort="${column}"]`)?.focus();
            },
          },
        }),
      );
    };
    const line = (row, total) =>
      h(
        'tr',
        { class: total ? 'analytics-total' : null, dataset: total ? { total: 'true' } : { manager: row.manager } },
        h('th', { scope: 'row' }, total ? h('span', { i18n: 'analytics.managers.total' }) : managerCell(row.manager, names, noteId)),
        INDICATORS.map((i) => h('td', { class: 'num', dataset: { column: i }, text: cellText(row[i]) })),
      );
    return scrollable(
      h(
        'table',
        { class: 'data-table analytics-sortable analytics-managers' },
        h('caption', { class: 'visually-hidden', i18n: 'analytics.managers.tableTitle' }),
        h('thead', {}, h('tr', {}, ['manager', ...INDICATORS].map(header))),
        h('tbody', {}, data.rows.map((r) => line(r, false))),
        h('tfoot', {}, line(data.total, true)),
      ),
    );
  }

  /** The manager's name as a button opening their customers. */
  function managerCell(manager, names, noteId) {
    return h('button', {
      type: 'button',
      class: `link-button analytics-manager${manager === '' ? ' muted' : ''}`,
      dataset: { manager },
      text: names.get(manager),
      'aria-describedby': manager === '' ? noteId : null,
      i18nAttrs: { title: 'analytics.managers.toCustomers' },
      on: { click: () => openCustomers(manager, []) },
    });
  }

  /** The customers credited to `manager` with the comparison's parameters, a page at a time. */
  async function openCustomers(manager, cursors) {
    const { params, names, answer, controller } = report;
    const query = { from: params.from, to: params.to, credit: answer.credit, as_of: params.as_of, limit: CUSTOMERS_PAGE };
    if (cursors.length) query.cursor = cursors.at(-1);
    const where = `${API}/managers/${encodeURIComponent(manager || NO_MANAGER_PATH)}/customers`;
    try {
      const { data } = await api.get(where, { query, signal: controller.signal });
      if (controller.signal.aborted) return;
      const title = h('h2', {
        tabindex: '-1',
        i18n: 'analytics.managers.customersTitle',
        i18nArgs: { manager: names.get(manager), from: params.from, to: params.to },
      });
      const parts = [title];
      if (!data.rows.length) parts.push(h('p', { class: 'empty', i18n: 'analytics.managers.noCustomers' }));
      else {
        parts.push(customersTable(data.rows, answer.currency));
        if (cursors.length || data.next_cursor) {
          parts.push(
            pager({ cursors, next: data.next_cursor, turn: (pages) => openCustomers(manager, pages), label: null }),
          );
        }
      }
      customers.dataset.manager = manager;
      customers.replaceChildren(...parts);
      title.focus();
    } catch (error) {
      if (error.name !== 'AbortError') customers.replaceChildren(errorBox(error));
    }
  }

  function customersTable(rows, currency) {
    return scrollable(
      h(
        'table',
        { class: 'data-table analytics-customers' },
        h('caption', { class: 'visually-hidden', i18n: 'analytics.managers.customersCaption' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', i18n: 'analytics.abc.col.customer' }),
            h('th', { scope: 'col', i18n: 'analytics.abc.col.counterparty' }),
            CUSTOMER_COLUMNS.map((c) =>
              h('th', { scope: 'col', class: 'num', i18n: `analytics.managers.col.${c}`, i18nArgs: { currency } }),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          rows.map((row) =>
            h(
              'tr',
              { dataset: { customer: row.customer } },
              h('td', {}, h('code', { text: row.customer })),
              h('td', {}, counterpartyCell(row)),
              CUSTOMER_COLUMNS.map((c) => h('td', { class: 'num', dataset: { column: c }, text: cellText(row[c]) })),
            ),
          ),
        ),
      ),
    );
  }


  // Numbers, names and the XLSX headings follow the language: a switch draws the comparison again.
  const stop = onLanguageChange(() => {
    if (report?.answer && !report.controller.signal.aborted) show();
  });
  ctx.signal.addEventListener('abort', stop);
  if (wanted('from') && wanted('to')) show();

  return h(
    'section',
    { class: 'analytics-page' },
    h('div', { class: 'page-head' }, heading('analytics.managers.title')),
    h('p', { class: 'muted', i18n: 'analytics.managers.intro' }),
    form,
    results,
    customers,
  );
}

/** The managers' names: Map user id -> name ('' is "no manager"). */
async function namesOf(ids) {
  const names = new Map([['', t('analytics.managers.noManager')]]);
  const real = ids.filter(Boolean);
  const found = await users(real);
  for (const id of real) names.set(id, displayName(found.get(id), id));
  return names;
}

/** A column's header text (amounts name the currency). */
function columnText(column, currency) {
  return t(`analytics.managers.col.${column}`, { currency });
}

/** A number of the answer as shown: decimal texts in the language's way, counts as they are, null as —. */
function cellText(value) {
  if (value === null || value === undefined) return '—';
  return typeof value === 'number' ? String(value) : formatDecimal(value);
}

/** The facts, orders and payments left out for lack of a rate, as a note (nothing when there are none). */
function withoutRate(data) {
  const left = data.total.without_rate;
  if (!left) return null;
  return h(
    'div',
    { class: 'alert alert-warning', role: 'note' },
    h('p', { i18n: 'analytics.managers.withoutRate', i18nArgs: { count: left, currency: data.currency } }),
  );
}
