// What the ABC analysis (abc.js), the classification runs (runs.js) and the back-test (backtest.js)
// share: the parameter controls (period preset or two days, measure, currency, shares A/B/C checked
// to sum to 100 at their field), the class distribution as a chart beside the same numbers as a
// table, the movement between classes as a table, the class badge, the counterparty cell linked to
// its card, and the pager of a cursor-paged list.
import { chart } from '../../core/charts.js';
import { h } from '../../core/dom.js';
import { field, input, select, setFieldError } from '../../core/forms.js';
import { formatDecimal, language, t } from '../../core/i18n.js';
import { scrollable } from '../../core/widgets.js';
import { counterpartyName } from './counterparty-names.js';
import { periodFields } from './periods.js';

export const MEASURES = ['revenue', 'revenue_without_vat', 'profit'];
export const CLASSES = ['A', 'B', 'C'];
export const COLORS = { A: '#1f7a4d', B: '#9a6c00', C: '#5f6b78' };
const SHARE = /^\d{1,3}(\.\d{1,2})?$/;

/** Hundredths of a percent of a share as typed ("12.5" → 1250), or null when it is not one. */
function hundredths(text) {
  const value = String(text).trim();
  if (!SHARE.test(value)) return null;
  const [whole, part = ''] = value.split('.');
  return Number(whole) * 100 + Number(part.padEnd(2, '0'));
}

/** The shares' problem as a text key and its arguments, or null when they are right. */
export function sharesProblem(texts) {
  const parts = texts.map(hundredths);
  if (parts.some((p) => p === null || p > 10000)) return { key: 'analytics.abc.sharesEach' };
  const sum = parts.reduce((a, b) => a + b, 0);
  if (sum !== 10000) return { key: 'analytics.abc.sharesSum', args: { sum: formatDecimal((sum / 100).toFixed(2)) } };
  return null;
}

/**
 * The shares A/B/C as a fieldset named `shares` (as the API names it), checked as they are typed:
 * `initial` "70/20/10" (the default). Returns { element, check(form) (shows their problem at the
 * field; true when they are right), value() ("70/20/10" as typed) }.
 */
export function sharesField(initial = '') {
  const errorId = `analytics-shares-error-${Math.random().toString(36).slice(2, 8)}`;
  const inputs = CLASSES.map((c) =>
    input({
      inputmode: 'decimal',
      class: 'analytics-share',
      dataset: { class: c },
      i18nAttrs: { 'aria-label': 'analytics.abc.shareOf' },
      i18nArgs: { class: c },
      'aria-describedby': errorId,
    }),
  );
  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  const element = h(
    'fieldset',
    { class: 'field analytics-shares', dataset: { field: 'shares' } },
    h('legend', { i18n: 'analytics.abc.shares' }),
    h(
      'div',
      { class: 'analytics-share-row' },
      CLASSES.map((c, i) => h('label', { class: 'analytics-share-label' }, h('span', { text: c }), inputs[i])),
    ),
    h('p', { class: 'field-hint', i18n: 'analytics.abc.sharesHint' }),
    error,
  );
  const shares = (initial || '70/20/10').split('/');
  inputs.forEach((el, i) => {
    el.value = shares[i] ?? '';
  });
  for (const el of inputs) el.addEventListener('input', () => check(element.closest('form')));

  function check(form) {
    const problem = sharesProblem(inputs.map((el) => el.value));
    error.hidden = true;
    error.replaceChildren();
    for (const el of inputs) el.removeAttribute('aria-invalid');
    if (!problem) return true;
    if (form) setFieldError(form, 'shares', problem.key, problem.args);
    for (const el of inputs) el.setAttribute('aria-invalid', 'true');
    return false;
  }

  return { element, check, value: () => inputs.map((el) => el.value.trim()).join('/') };
}

/**
 * The ABC parameters as form controls, filled from `initial` ({ from, to, by, shares, currency }, each
 * optional; else the default preset, revenue, 70/20/10). Returns { params (the fields' row), shares
 * (their fieldset), check(form) (marks what is wrong at its field; true when all is right),
 * values() }. The fields are named as the API names them, so its 422s land beside them.
 */
export function abcParameters({ reportingCurrency, initial = {} }) {
  const period = periodFields({ from: initial.from, to: initial.to });
  const by = measureSelect(initial.by);
  const currency = currencyInput(reportingCurrency, initial.currency);
  const shares = sharesField(initial.shares);

  /** Mark the days and shares that are wrong at their fields; true when every one is right. */
  function check(form) {
    let right = period.check(form);
    if (!shares.check(form)) right = false;
    if (!right) form.querySelector('[aria-invalid="true"]')?.focus();
    return right;
  }

  function values() {
    return { ...period.values(), by: by.value, shares: shares.value(), currency: currency.value.trim().toUpperCase() };
  }

  const params = h(
    'div',
    { class: 'analytics-params' },
    period.fields,
    field({ name: 'by', label: 'analytics.abc.by', control: by }),
    field({ name: 'currency', label: 'analytics.abc.currency', control: currency }),
  );
  return { params, shares: shares.element, check, values };
}

/** The ABC measure as a select (revenue unless `initial` names another). */
export function measureSelect(initial) {
  const by = select(MEASURES.map((m) => ({ value: m, label: `analytics.measure.${m}` })));
  by.value = MEASURES.includes(initial) ? initial : 'revenue';
  return by;
}

/** The currency of a report: empty (the reporting currency, its placeholder) or that currency's code. */
export function currencyInput(reportingCurrency, initial = '') {
  const currency = input({ maxlength: '3', size: '4', placeholder: reportingCurrency, autocapitalize: 'characters' });
  currency.value = initial || '';
  return currency;
}

/** The class distribution ({ A|B|C: { customers, value } }) as a bar chart of customers and value. */
export function distributionChart(classes, currency, signal) {
  const spec = () => ({
    type: 'bar',
    data: {
      labels: CLASSES.map((c) => t('analytics.abc.class', { class: c })),
      datasets: [
        {
          label: t('analytics.abc.chartCustomers'),
          data: CLASSES.map((c) => classes[c].customers),
          backgroundColor: CLASSES.map((c) => COLORS[c]),
          yAxisID: 'customers',
        },
        {
          label: t('analytics.abc.chartValue', { currency }),
          data: CLASSES.map((c) => Number(classes[c].value)),
          backgroundColor: CLASSES.map((c) => `${COLORS[c]}88`),
          borderColor: CLASSES.map((c) => COLORS[c]),
          borderWidth: 1,
          yAxisID: 'value',
        },
      ],
    },
    options: {
      ...chartOptions(),
      scales: {
        customers: {
          type: 'linear',
          position: 'left',
          beginAtZero: true,
          ticks: { precision: 0 },
          title: { display: true, text: t('analytics.abc.chartCustomers') },
        },
        value: {
          type: 'linear',
          position: 'right',
          beginAtZero: true,
          grid: { drawOnChartArea: false },
          title: { display: true, text: t('analytics.abc.chartValue', { currency }) },
        },
      },
    },
  });
  return chart({ spec, labelKey: 'analytics.abc.chartLabel', className: 'chart analytics-chart', signal });
}

/** Chart.js options every analytics chart shares: sized by its box, no animation, the language's locale. */
export function chartOptions() {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    locale: language() === 'bg' ? 'bg-BG' : 'en-GB',
    plugins: { legend: { position: 'bottom' } },
  };
}

/** The same numbers as the chart: customers, value and share of the total per class. */
export function classTable(classes, total) {
  const share = (value) => (Number(total) > 0 ? shareText(value, total) : '—');
  return scrollable(
    h(
      'table',
      { class: 'data-table analytics-classes' },
      h('caption', { i18n: 'analytics.abc.classesCaption' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['analytics.abc.col.class', 'analytics.abc.col.customers', 'analytics.abc.col.value', 'analytics.abc.col.share'].map(
            (key) => h('th', { scope: 'col', i18n: key }),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        CLASSES.map((c) =>
          h(
            'tr',
            { dataset: { class: c } },
            h('th', { scope: 'row' }, classBadge(c)),
            h('td', { class: 'num', text: String(classes[c].customers) }),
            h('td', { class: 'num', text: formatDecimal(classes[c].value) }),
            h('td', { class: 'num', text: share(classes[c].value) }),
          ),
        ),
      ),
    ),
  );
}

/** The classes before a movement: A, B, C and none (a customer new to the later classification). */
export const PREVIOUS = ['A', 'B', 'C', 'new'];

/**
 * Customers moved between classes as a table: a row per class before (`rows`, 'new' for none), a
 * column per class after (`columns`), `count(before, after)` in each cell. The cells are drawn by
 * `rowCell` and `columnCell` (class badges unless told), so other classifications (stages) use it too.
 */
export function movementTable({
  count,
  rows = PREVIOUS,
  columns = CLASSES,
  rowCell = previousCell,
  columnCell = classBadge,
  captionKey = 'analytics.runs.movementCaption',
  captionArgs,
  fromKey = 'analytics.runs.movementFrom',
}) {
  return scrollable(
    h(
      'table',
      { class: 'data-table analytics-movement-table' },
      h('caption', { i18n: captionKey, i18nArgs: captionArgs }),
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col', i18n: fromKey }), columns.map((c) => h('th', { scope: 'col', class: 'num', dataset: { class: c } }, columnCell(c)))),
      ),
      h(
        'tbody',
        {},
        rows.map((before) =>
          h(
            'tr',
            { dataset: { previous: before } },
            h('th', { scope: 'row' }, rowCell(before)),
            columns.map((now) => h('td', { class: 'num', dataset: { class: now }, text: String(count(before, now)) })),
          ),
        ),
      ),
    ),
  );
}

/** A class before a movement: its badge, or "new". */
export function previousCell(before) {
  return before === 'new' ? h('span', { i18n: 'analytics.marker.new' }) : classBadge(before);
}

/** `value` in percent of `total` with 2 decimals, from their decimal texts (for display only). */
export function shareText(value, total) {
  return `${formatDecimal(((Number(value) * 100) / Number(total)).toFixed(2))} %`;
}

export function classBadge(c) {
  return h('span', { class: `analytics-class analytics-class-${c.toLowerCase()}`, text: c });
}

/** The counterparty's name linked to its card when the customer code is linked to one, else "not linked". */
export function counterpartyCell(row) {
  if (!row.counterparty_id) return h('span', { class: 'muted', i18n: 'analytics.abc.notLinked' });
  const link = h('a', { href: `#/counterparties/${encodeURIComponent(row.counterparty_id)}`, text: row.customer });
  counterpartyName(row.counterparty_id).then((name) => {
    if (name) link.textContent = name;
  });
  return link;
}

/**
 * Previous / next over a cursor-paged list: `cursors` are the pages before this one (its start is the
 * last), `next` the answer's next_cursor; `turn(cursors)` shows another page. `label` says where we are.
 */
export function pager({ cursors, next, turn, label }) {
  return h(
    'div',
    { class: 'analytics-pager' },
    h('button', {
      type: 'button',
      class: 'button',
      i18n: 'analytics.abc.previous',
      disabled: cursors.length === 0,
      on: { click: () => turn(cursors.slice(0, -1)) },
    }),
    label,
    h('button', {
      type: 'button',
      class: 'button',
      i18n: 'analytics.abc.next',
      disabled: !next,
      on: { click: () => turn([...cursors, next]) },
    }),
  );
}
