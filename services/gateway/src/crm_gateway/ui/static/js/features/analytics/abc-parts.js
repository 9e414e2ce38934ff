// What the ABC analysis (abc.js) and the classification runs (runs.js) share: the parameter controls
// (period preset or two days, measure, currency, shares A/B/C checked to sum to 100 at their field),
// the class distribution as a chart beside the same numbers as a table, the class badge, the
// counterparty cell linked to its card, and the pager of a cursor-paged list.
import { chart } from '../../core/charts.js';
import { h } from '../../core/dom.js';
import { field, input, select, setFieldError } from '../../core/forms.js';
import { formatDecimal, language, t } from '../../core/i18n.js';
import { scrollable } from '../../core/widgets.js';
import { counterpartyName } from './counterparty-names.js';
import { DEFAULT_PRESET, PRESETS, periodOf, presetOf } from './periods.js';

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
 * The ABC parameters as form controls, filled from `initial` ({ from, to, by, shares, currency }, each
 * optional; else the default preset, revenue, 70/20/10). Returns { params (the fields' row), shares
 * (their fieldset), check(form) (marks what is wrong at its field; true when all is right),
 * values() }. The fields are named as the API names them, so its 422s land beside them.
 */
export function abcParameters({ reportingCurrency, initial = {} }) {
  const preset = select(PRESETS.map((p) => ({ value: p, label: `analytics.period.${p}` })));
  const from = input({ type: 'date', required: true });
  const to = input({ type: 'date', required: true });
  const by = select(MEASURES.map((m) => ({ value: m, label: `analytics.measure.${m}` })));
  const currency = input({ maxlength: '3', size: '4', placeholder: reportingCurrency, autocapitalize: 'characters' });
  const errorId = `analytics-shares-error-${Math.random().toString(36).slice(2, 8)}`;
  const shareInputs = CLASSES.map((c) =>
    input({
      inputmode: 'decimal',
      class: 'analytics-share',
      dataset: { class: c },
      i18nAttrs: { 'aria-label': 'analytics.abc.shareOf' },
      i18nArgs: { class: c },
      'aria-describedby': errorId,
    }),
  );
  const sharesError = h('p', { class: 'field-error', id: errorId, hidden: true });
  const sharesField = h(
    'fieldset',
    { class: 'field analytics-shares', dataset: { field: 'shares' } },
    h('legend', { i18n: 'analytics.abc.shares' }),
    h(
      'div',
      { class: 'analytics-share-row' },
      CLASSES.map((c, i) => h('label', { class: 'analytics-share-label' }, h('span', { text: c }), shareInputs[i])),
    ),
    h('p', { class: 'field-hint', i18n: 'analytics.abc.sharesHint' }),
    sharesError,
  );

  const period = periodOf(DEFAULT_PRESET);
  from.value = initial.from || period.from;
  to.value = initial.to || period.to;
  preset.value = presetOf(from.value, to.value);
  by.value = MEASURES.includes(initial.by) ? initial.by : 'revenue';
  currency.value = initial.currency || '';
  const shares = (initial.shares || '70/20/10').split('/');
  shareInputs.forEach((el, i) => {
    el.value = shares[i] ?? '';
  });

  preset.addEventListener('change', () => {
    const chosen = periodOf(preset.value);
    if (chosen) {
      from.value = chosen.from;
      to.value = chosen.to;
    }
  });
  for (const el of [from, to]) el.addEventListener('input', () => (preset.value = presetOf(from.value, to.value)));
  for (const el of shareInputs) el.addEventListener('input', () => checkShares(sharesField.closest('form')));

  /** Show the shares' problem at their field (as they are typed, too); true when they are right. */
  function checkShares(form) {
    const problem = sharesProblem(shareInputs.map((el) => el.value));
    sharesError.hidden = true;
    sharesError.replaceChildren();
    for (const el of shareInputs) el.removeAttribute('aria-invalid');
    if (!problem) return true;
    if (form) setFieldError(form, 'shares', problem.key, problem.args);
    for (const el of shareInputs) el.setAttribute('aria-invalid', 'true');
    return false;
  }

  /** Mark the days and shares that are wrong at their fields; true when every one is right. */
  function check(form) {
    let right = true;
    for (const [name, el] of [['from', from], ['to', to]]) {
      if (!el.value) {
        setFieldError(form, name, 'analytics.abc.dateNeeded');
        right = false;
      }
    }
    if (right && to.value < from.value) {
      setFieldError(form, 'to', 'analytics.abc.toBeforeFrom');
      right = false;
    }
    if (!checkShares(form)) right = false;
    if (!right) form.querySelector('[aria-invalid="true"]')?.focus();
    return right;
  }

  function values() {
    return {
      from: from.value,
      to: to.value,
      by: by.value,
      shares: shareInputs.map((el) => el.value.trim()).join('/'),
      currency: currency.value.trim().toUpperCase(),
    };
  }

  const params = h(
    'div',
    { class: 'analytics-params' },
    field({ name: 'period', label: 'analytics.abc.period', control: preset }),
    field({ name: 'from', label: 'analytics.abc.from', control: from, required: true }),
    field({ name: 'to', label: 'analytics.abc.to', control: to, required: true }),
    field({ name: 'by', label: 'analytics.abc.by', control: by }),
    field({ name: 'currency', label: 'analytics.abc.currency', control: currency }),
  );
  return { params, shares: sharesField, check, values };
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
