// Back-testing a segmentation rule (GET /api/v1/analytics/abc/backtest, …/xyz/backtest): the page
// both back-test pages share. The rule's own parameters (given by the page) and the periods it is run
// over — a day of the last period, the periodicity, how many periods, and whether each period is
// classified as everything is known now or as the CRM knew it at the period's end — then, oldest
// first: a chart of customers (or value) per class and period, the same numbers as a table, how the
// classes held (the share of customers keeping their class from the period before, and which part
// of the next period's money came from this period's classes and from new customers), and the
// movement between the classes of two consecutive periods (the later one picked, the last first).
// The facts left out for lack of a currency rate as a warning (as on the ABC page), and the back-test's
// CSV and XLSX files with the parameters on screen (one row per period: …/backtest.csv, .xlsx).
// An empty state when no customer has facts; the API's 422 at its field, another refusal as a box.
// The parameters (and the chart's measure and the movement's period) are kept in the address.
import * as api from '../../core/api.js';
import { chart } from '../../core/charts.js';
import { today } from '../../core/dates.js';
import { h } from '../../core/dom.js';
import { clearErrors, field, formAlert, input, select, setFieldError } from '../../core/forms.js';
import { formatDecimal, onLanguageChange, t } from '../../core/i18n.js';
import { replaceQuery } from '../../core/router.js';
import { heading, scrollable } from '../../core/widgets.js';
import { chartOptions, movementTable } from './abc-parts.js';
import { downloads, reportRequests, withoutRateNote } from './report-form.js';

export const STEPS = ['month', 'quarter', 'half-year', 'year'];
const KNOWN = ['now', 'then'];
const CHART_MEASURES = ['customers', 'value'];
const DEFAULT_COUNT = '12';
const MAX_COUNT = '36';

/**
 * The back-test page of `rule`:
 * {
 *   path, url (the API's), titleKey, text(name) (the key of the rule's own text `name`: intro, back,
 *   step, count, summary.now|then, the titles and captions that name its classes), backPath (its report),
 *   stepName, countName (the API's names of the periodicity and of the number of periods),
 *   categories (the classes, in order), colors ({ class: colour }), cell(c) (a class as a node),
 *   label(c) (a class as text),
 *   parameters(ctx.query, index) → { elements, check(form), values() } (the rule's own fields),
 *   customers(item, c), value(item, c) (decimal text), moved(item, before, c) (customers moved),
 * }
 */
export async function backtestPage(ctx, rule) {
  const index = await api.get('/api/v1/analytics', { signal: ctx.signal }).then(({ data }) => data);
  const wanted = (name) => ctx.query.get(name) || '';

  const own = rule.parameters(ctx.query, index);
  const to = input({ type: 'date', required: true });
  to.value = wanted('to') || today();
  const step = select(STEPS.map((s) => ({ value: s, label: `analytics.periodicity.${s}` })));
  step.value = STEPS.includes(wanted(rule.stepName)) ? wanted(rule.stepName) : 'month';
  const count = input({ type: 'number', min: '2', max: MAX_COUNT, step: '1', inputmode: 'numeric' });
  count.value = wanted(rule.countName) || DEFAULT_COUNT;
  const known = select(KNOWN.map((k) => ({ value: k, label: `analytics.backtest.known.${k}` })));
  known.value = KNOWN.includes(wanted('as_known')) ? wanted('as_known') : 'now';
  let measure = CHART_MEASURES.includes(wanted('chart')) ? wanted('chart') : 'customers';
  let moved = wanted('movement'); // the later period of the movement on screen ('' the last)

  const form = h(
    'form',
    { class: 'analytics-form analytics-backtest-form', novalidate: true, on: { submit: (e) => show(e) } },
    formAlert(),
    h(
      'div',
      { class: 'analytics-params analytics-params-top' },
      field({ name: 'to', label: 'analytics.backtest.to', control: to, required: true, hint: 'analytics.backtest.toHint' }),
      field({ name: rule.stepName, label: rule.text('step'), control: step }),
      field({ name: rule.countName, label: rule.text('count'), control: count, hint: 'analytics.backtest.countHint' }),
      field({ name: 'as_known', label: 'analytics.backtest.knownLabel', control: known, hint: 'analytics.backtest.knownHint' }),
    ),
    own.elements,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button primary', i18n: 'analytics.backtest.run' })),
  );
  const results = h('div', { class: 'analytics-results', 'aria-live': 'polite' });
  let shown = null; // { params, controller, answer }
  const ask = reportRequests(ctx, form, results);

  function values() {
    return { to: to.value, [rule.stepName]: step.value, [rule.countName]: count.value.trim(), as_known: known.value, ...own.values() };
  }

  function check() {
    let right = true;
    if (!to.value) {
      setFieldError(form, 'to', 'analytics.abc.dateNeeded');
      right = false;
    }
    if (!own.check(form)) right = false;
    if (!right) form.querySelector('[aria-invalid="true"]')?.focus();
    return right;
  }

  function address() {
    const { params } = shown;
    replaceQuery(rule.path, { ...params, chart: measure === 'customers' ? '' : measure, movement: moved });
  }

  async function show(event) {
    event?.preventDefault();
    clearErrors(form);
    if (!check()) return;
    const params = values();
    await ask(async (controller) => {
      shown = { params, controller, answer: null };
      address();
      const { data } = await api.get(rule.url, { query: params, signal: controller.signal });
      if (controller.signal.aborted) return;
      shown.answer = data;
      draw();
    });
  }

  /** The answer on screen drawn (again: another chart measure or movement period redraws it all). */
  function draw() {
    const { answer: data, controller } = shown;
    shown.drawing?.abort(); // the chart drawn before
    const drawing = new AbortController();
    shown.drawing = drawing;
    controller.signal.addEventListener('abort', () => drawing.abort());
    const items = data.items;
    const label = (item) => periodLabel(item.to, data[rule.stepName]);
    const summary = h('p', {
      class: 'analytics-summary',
      i18n: rule.text(`summary.${data.as_known}`),
      i18nArgs: { periods: items.length, first: label(items[0]), last: label(items.at(-1)), zone: data.time_zone },
    });
    const withoutRate = withoutRateNote(data.without_rate, data.currency);
    const anyone = items.some((item) => rule.categories.some((c) => rule.customers(item, c) > 0));
    if (!anyone) {
      results.replaceChildren(
        ...[summary, withoutRate].filter(Boolean),
        h(
          'div',
          { class: 'empty analytics-empty' },
          h('p', { i18n: 'analytics.abc.empty', i18nArgs: { to: items.at(-1).to } }),
          h('p', {}, h('a', { href: '#/analytics/import', i18n: 'analytics.abc.emptyImport' })),
        ),
      );
      return;
    }
    const chartMeasure = select(CHART_MEASURES.map((m) => ({ value: m, label: `analytics.backtest.chart.${m}` })));
    chartMeasure.value = measure;
    chartMeasure.addEventListener('change', () => {
      measure = chartMeasure.value;
      address();
      draw();
      results.querySelector('.analytics-backtest-chart-measure select')?.focus();
    });
    const later = items.slice(1);
    if (!later.some((item) => item.to === moved)) moved = later.at(-1).to;
    const movementPeriod = h(
      'select',
      {},
      later.map((item, i) =>
        h('option', { value: item.to, i18n: 'analytics.backtest.movementOption', i18nArgs: { from: label(items[i]), to: label(item) } }),
      ),
    );
    movementPeriod.value = moved;
    movementPeriod.addEventListener('change', () => {
      moved = movementPeriod.value;
      address();
      draw();
      results.querySelector('.analytics-backtest-movement-period select')?.focus();
    });
    const into = later.find((item) => item.to === moved);
    const from = items[items.indexOf(into) - 1];
    results.replaceChildren(
      ...[summary, withoutRate].filter(Boolean),
      h('h2', { i18n: rule.text('classesTitle') }),
      h('div', { class: 'analytics-backtest-chart-measure' }, field({ name: 'chart', label: 'analytics.backtest.chartLabel', control: chartMeasure })),
      periodsChart(items, label, data.currency, drawing.signal).element,
      classesTable(items, label, data.currency),
      h('h2', { i18n: rule.text('heldTitle') }),
      h('p', { class: 'muted', i18n: rule.text('heldIntro') }),
      heldTable(items, label),
      h('h2', { i18n: 'analytics.backtest.movementTitle' }),
      h('div', { class: 'analytics-backtest-movement-period' }, field({ name: 'movement', label: 'analytics.backtest.movementPeriod', control: movementPeriod })),
      movementTable({
        count: (before, now) => rule.moved(into, before, now),
        rows: [...rule.categories, 'new'],
        columns: rule.categories,
        rowCell: (c) => (c === 'new' ? h('span', { i18n: 'analytics.marker.new' }) : rule.cell(c)),
        columnCell: rule.cell,
        captionKey: rule.text('movementCaption'),
        captionArgs: { from: label(from), to: label(into) },
        fromKey: rule.text('movementFrom'),
      }),
      h('p', {
        class: 'analytics-backtest-kept',
        i18n: into.kept_share === null ? rule.text('keptNone') : rule.text('kept'),
        i18nArgs: { share: percent(into.kept_share), earlier: label(from), later: label(into) },
      }),
      downloads(rule.url, shown.params),
    );
  }

  /** Stacked bars: one per period, split by class (customers or value, as chosen). */
  function periodsChart(items, label, currency, signal) {
    const axis = () => (measure === 'value' ? t('analytics.backtest.axisValue', { currency }) : t('analytics.abc.chartCustomers'));
    const spec = () => ({
      type: 'bar',
      data: {
        labels: items.map(label),
        datasets: rule.categories.map((c) => ({
          label: rule.label(c),
          // drawn only: the table beside it has the exact figures
          data: items.map((item) => (measure === 'value' ? Number(rule.value(item, c)) : rule.customers(item, c))),
          backgroundColor: rule.colors[c],
        })),
      },
      options: {
        ...chartOptions(),
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true, ticks: measure === 'customers' ? { precision: 0 } : {}, title: { display: true, text: axis() } },
        },
      },
    });
    return chart({
      spec,
      labelKey: rule.text(`chartTitle.${measure}`),
      labelArgs: { currency },
      className: 'chart analytics-chart analytics-backtest-chart',
      signal,
    });
  }

  /** Customers and value per class and period (the chart's numbers). */
  function classesTable(items, label, currency) {
    return scrollable(
      h(
        'table',
        { class: 'data-table analytics-backtest-classes' },
        h('caption', { i18n: rule.text('classesCaption'), i18nArgs: { currency } }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', rowspan: '2', i18n: 'analytics.backtest.col.period' }),
            rule.categories.map((c) => h('th', { scope: 'colgroup', colspan: '2', class: 'num' }, rule.cell(c))),
          ),
          h(
            'tr',
            { class: 'analytics-subhead' },
            rule.categories.flatMap(() => [
              h('th', { scope: 'col', class: 'num', i18n: 'analytics.abc.col.customers' }),
              h('th', { scope: 'col', class: 'num', i18n: 'analytics.abc.col.value' }),
            ]),
          ),
        ),
        h(
          'tbody',
          {},
          items.map((item) =>
            h(
              'tr',
              { dataset: { period: item.to } },
              periodCell(item, label),
              rule.categories.flatMap((c) => [
                h('td', { class: 'num', dataset: { class: c, column: 'customers' }, text: String(rule.customers(item, c)) }),
                h('td', { class: 'num', dataset: { class: c, column: 'value' }, text: formatDecimal(rule.value(item, c)) }),
              ]),
            ),
          ),
        ),
      ),
    );
  }

  /** Per period: the kept share and the next period's money by this period's classes. */
  function heldTable(items, label) {
    const shares = [...rule.categories, 'new'];
    return scrollable(
      h(
        'table',
        { class: 'data-table analytics-backtest-held' },
        h('caption', { i18n: rule.text('heldCaption') }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', rowspan: '2', i18n: 'analytics.backtest.col.period' }),
            h('th', { scope: 'col', rowspan: '2', class: 'num', i18n: rule.text('col.kept') }),
            h('th', { scope: 'colgroup', colspan: String(shares.length), class: 'num', i18n: rule.text('col.next') }),
          ),
          h(
            'tr',
            { class: 'analytics-subhead' },
            shares.map((c) => h('th', { scope: 'col', class: 'num' }, c === 'new' ? h('span', { i18n: 'analytics.marker.new' }) : rule.cell(c))),
          ),
        ),
        h(
          'tbody',
          {},
          items.map((item) =>
            h(
              'tr',
              { dataset: { period: item.to } },
              periodCell(item, label),
              h('td', { class: 'num', dataset: { column: 'kept' }, text: percent(item.kept_share) }),
              shares.map((c) =>
                h('td', { class: 'num', dataset: { column: 'next', class: c }, text: item.next_share ? percent(item.next_share[c]) : '—' }),
              ),
            ),
          ),
        ),
      ),
    );
  }

  // Numbers and labels are in the language on screen: a switch draws the back-test again.
  const stop = onLanguageChange(() => {
    if (shown?.answer && !shown.controller.signal.aborted) draw();
  });
  ctx.signal.addEventListener('abort', stop);
  if (wanted('to')) show();

  return h(
    'section',
    { class: 'analytics-page analytics-backtest' },
    h('div', { class: 'page-head' }, heading(rule.titleKey)),
    h('p', { class: 'muted', i18n: rule.text('intro') }),
    h('p', {}, h('a', { href: `#${rule.backPath}`, i18n: rule.text('back') })),
    form,
    results,
  );
}

/** A period's row header: its label, its days on hover. */
function periodCell(item, label) {
  return h('th', { scope: 'row', title: `${item.from} – ${item.to}`, text: label(item) });
}

/** The period of `step` holding `day` (YYYY-MM-DD): "2026-03", "2026 Q1", "2026 H1" or "2026". */
export function periodLabel(day, step) {
  const [year, month] = day.split('-');
  const m = Number(month);
  if (step === 'month') return `${year}-${month}`;
  if (step === 'quarter') return `${year} Q${Math.floor((m - 1) / 3) + 1}`;
  if (step === 'half-year') return `${year} H${m <= 6 ? 1 : 2}`;
  if (step === 'year') return year;
  return day;
}

function percent(text) {
  return text === null || text === undefined ? '—' : `${formatDecimal(text)} %`;
}
