// Contact effectiveness and multi-touch attribution (GET /api/v1/analytics/effectiveness and
// /attribution), two tabs over one form: the period (a preset or two days) and the grouping (the
// interaction's kind, its responsible manager or the counterparty's information source) are
// shared; effectiveness adds the window in days, attribution the model, the lookback and (for
// time decay only) the half-life. Effectiveness draws revenue after the interactions and the
// conversion % per group; attribution draws the credited revenue per group, the five models side by
// side when asked (one request per model). Each tab's table has every group of the report (the API's
// pages are read to the end, so sorting by a column sorts them all), shown a page at a time; the
// "no touch" row stays last and is explained under the table; facts left out for lack of a currency
// rate are a note. Groups are shown by name (kinds by their texts, managers by user name, sources by
// their catalog names). An effectiveness row of a kind or a manager leads to those interactions,
// and from them to the counterparties' cards. Either report optionally as the CRM knew it at a moment
// (`as_of`, said above the figures). CSV of the whole report with the same parameters. The
// parameters (and the tab and the sort) are kept in the address, so a reload or a link shows the same.
import * as api from '../../core/api.js';
import { chart } from '../../core/charts.js';
import { h, uid } from '../../core/dom.js';
import { clearErrors, field, formAlert, input, select } from '../../core/forms.js';
import { formatDecimal, has, onLanguageChange, t } from '../../core/i18n.js';
import { displayName, users } from '../../core/people.js';
import * as ref from '../../core/reference-cache.js';
import { href, replaceQuery } from '../../core/router.js';
import { heading, scrollable } from '../../core/widgets.js';
import { chartOptions, pager } from './abc-parts.js';
import { periodFields } from './periods.js';
import { asOfField, asOfNote, downloads, reportRequests, withoutRateNote } from './report-form.js';

export const path = '/analytics/attribution';
export const titleKey = 'analytics.attribution.title';
export const permission = 'counterparty:read';

const API = '/api/v1/analytics';
const TABS = ['effectiveness', 'attribution'];
const GROUPINGS = ['kind', 'manager', 'source'];
const MODELS = ['first', 'last', 'linear', 'position', 'time_decay'];
const DEFAULTS = { window_days: '30', model: 'linear', lookback_days: '90', half_life_days: '7' }; // the API's
const LIMIT = 1000; // groups per request, the API's most; further pages follow next_cursor
const PAGE_SIZE = 50; // rows per page on screen
const COLUMNS = {
  effectiveness: ['key', 'interactions', 'followed', 'conversion', 'revenue', 'profit'],
  attribution: ['key', 'revenue', 'share', 'profit', 'sales'],
};
const MODEL_COLORS = {
  first: '#2c5fa8',
  last: '#a23b3b',
  linear: '#1f7a4d',
  position: '#9a6c00',
  time_decay: '#6a4c93',
};

export async function render(ctx) {
  const wanted = (name) => ctx.query.get(name) || '';
  let tab = TABS.includes(wanted('tab')) ? wanted('tab') : 'effectiveness';
  let sort = sortOf(wanted('sort'));
  if (!COLUMNS[tab].includes(sort.column)) sort = sortOf('');

  const period = periodFields({ from: wanted('from'), to: wanted('to') });
  const by = select(GROUPINGS.map((g) => ({ value: g, label: `analytics.attribution.by.${g}` })));
  by.value = GROUPINGS.includes(wanted('by')) ? wanted('by') : 'kind';
  const asOf = asOfField(wanted('as_of'));
  const number = (name, max) => {
    const el = input({ type: 'number', min: name === 'half_life_days' ? '1' : '0', max, step: '1', inputmode: 'numeric' });
    el.value = /^\d{1,4}$/.test(wanted(name)) ? wanted(name) : DEFAULTS[name];
    return el;
  };
  const windowDays = number('window_days', '366');
  const model = select(MODELS.map((m) => ({ value: m, label: `analytics.attribution.model.${m}` })));
  model.value = MODELS.includes(wanted('model')) ? wanted('model') : DEFAULTS.model;
  const lookback = number('lookback_days', '730');
  const halfLife = number('half_life_days', '365');
  const compareId = uid('compare');
  const compare = h('input', { type: 'checkbox', id: compareId, checked: wanted('compare') !== '0' });

  const windowField = field({
    name: 'window_days',
    label: 'analytics.attribution.windowDays',
    control: windowDays,
    hint: 'analytics.attribution.windowHint',
  });
  const modelField = field({ name: 'model', label: 'analytics.attribution.modelLabel', control: model });
  const lookbackField = field({
    name: 'lookback_days',
    label: 'analytics.attribution.lookbackDays',
    control: lookback,
    hint: 'analytics.attribution.lookbackHint',
  });
  const halfLifeField = field({
    name: 'half_life_days',
    label: 'analytics.attribution.halfLifeDays',
    control: halfLife,
    hint: 'analytics.attribution.halfLifeHint',
  });
  const compareField = h(
    'div',
    { class: 'field check', dataset: { field: 'compare' } },
    compare,
    h('label', { for: compareId, i18n: 'analytics.attribution.compare' }),
  );
  const modelHint = h('p', { class: 'field-hint analytics-model-hint' });

  const tabButtons = TABS.map((name) =>
    h('button', {
      type: 'button',
      role: 'tab',
      id: `analytics-tab-${name}`,
      'aria-controls': 'analytics-attribution-panel',
      dataset: { tab: name },
      i18n: `analytics.attribution.tab.${name}`,
      on: { click: () => choose(name, true) },
    }),
  );
  const tablist = h(
    'div',
    {
      class: 'tabs analytics-tabs',
      role: 'tablist',
      i18nAttrs: { 'aria-label': 'analytics.attribution.tabsLabel' },
      on: { keydown: moveTab },
    },
    tabButtons,
  );

  const submit = h('button', { type: 'submit', class: 'button primary', i18n: 'analytics.attribution.show' });
  const form = h(
    'form',
    { class: 'analytics-form', novalidate: true, on: { submit: (e) => show(e) } },
    formAlert(),
    h(
      'div',
      { class: 'analytics-params analytics-params-top' },
      period.fields,
      field({ name: 'by', label: 'analytics.attribution.byLabel', control: by }),
      asOf.field,
      windowField,
      modelField,
      lookbackField,
      halfLifeField,
    ),
    modelHint,
    compareField,
    h('div', { class: 'form-actions' }, submit),
  );
  const results = h('div', { class: 'analytics-results', 'aria-live': 'polite' });
  const panel = h(
    'section',
    { class: 'tab-panel', role: 'tabpanel', id: 'analytics-attribution-panel', tabindex: '0' },
    form,
    results,
  );
  let report = null; // the report on screen: { params, controller }
  // A 403 (the report is not for this user's role) is said as such, not as a bare error box.
  const ask = reportRequests(ctx, form, results, {
    refused: (error) => (error instanceof api.ApiError && error.status === 403 ? forbidden(error) : null),
  });

  /** The fields of the tab on screen; half-life only for time decay. */
  function arrange() {
    for (const button of tabButtons) {
      const selected = button.dataset.tab === tab;
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
    }
    panel.setAttribute('aria-labelledby', `analytics-tab-${tab}`);
    windowField.hidden = tab !== 'effectiveness';
    for (const el of [modelField, lookbackField, compareField, modelHint]) el.hidden = tab !== 'attribution';
    halfLifeField.hidden = tab !== 'attribution' || model.value !== 'time_decay';
    modelHint.replaceChildren(h('span', { i18n: `analytics.attribution.modelHint.${model.value}` }));
  }
  model.addEventListener('change', arrange);

  function choose(name, focus) {
    if (name === tab) return;
    tab = name;
    if (!COLUMNS[tab].includes(sort.column)) sort = sortOf('');
    arrange();
    if (focus) tabButtons.find((b) => b.dataset.tab === tab).focus();
    results.replaceChildren();
    show();
  }

  // Arrow keys move between the tabs (the WAI-ARIA tabs pattern).
  function moveTab(event) {
    const index = TABS.indexOf(tab);
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: TABS.length - 1 - index };
    if (!(event.key in moves)) return;
    event.preventDefault();
    choose(TABS[(index + moves[event.key] + TABS.length) % TABS.length], true);
  }

  /** The report's parameters as the API takes them (the defaults left out, as the address keeps them). */
  function values() {
    const params = { ...period.values(), by: by.value };
    const set = (name, el) => {
      if (el.value.trim() !== DEFAULTS[name]) params[name] = el.value.trim();
    };
    if (tab === 'effectiveness') set('window_days', windowDays);
    else {
      params.model = model.value;
      set('lookback_days', lookback);
      if (model.value === 'time_decay') set('half_life_days', halfLife);
    }
    if (asOf.value()) params.as_of = asOf.value();
    return params;
  }

  async function show(event) {
    event?.preventDefault();
    clearErrors(form);
    if (!period.check(form)) {
      form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    const params = values();
    const comparing = tab === 'attribution' && compare.checked;
    await ask(async (controller) => {
      report = { params, controller, comparing, shown: null };
      address();
      const signal = controller.signal;
      const data = await whole(tab, params, signal);
      // The other models, one request each, for the chart: every group of each.
      const others = comparing
        ? await Promise.all(
            MODELS.filter((m) => m !== params.model).map((m) => whole(tab, { ...params, model: m }, signal)),
          )
        : [];
      const answers = [data, ...others];
      const keys = new Set(answers.flatMap((a) => a.rows.map((r) => r.key)));
      const names = await namesOf(params.by, [...keys].filter((k) => k !== null));
      if (signal.aborted) return;
      report.shown = { answers, names };
      draw();
    });
  }

  /** The report's parameters, the tab and the sort in the address. */
  function address() {
    const compared = tab === 'attribution' && !report.comparing ? '0' : '';
    const sorted = sort.column === 'revenue' && sort.descending ? '' : sortText(sort);
    replaceQuery(path, { tab, ...report.params, compare: compared, sort: sorted });
  }

  /** The answers on screen drawn again (in the order chosen); the chart is made anew. */
  function draw() {
    const { params, controller } = report;
    const { answers, names } = report.shown;
    report.drawing?.abort(); // the chart drawn before
    const drawing = new AbortController();
    report.drawing = drawing;
    controller.signal.addEventListener('abort', () => drawing.abort());
    const signal = drawing.signal;
    const parts = tab === 'effectiveness' ? effectiveness(answers[0], params, names, signal) : attribution(answers, params, names, signal);
    results.replaceChildren(...parts.filter(Boolean));
  }

  /** The whole report: its first answer with the rows of every page. */
  async function whole(which, params, signal) {
    const { data } = await api.get(`${API}/${which}`, { query: { ...params, limit: LIMIT }, signal });
    let cursor = data.next_cursor;
    while (cursor) {
      const { data: next } = await api.get(`${API}/${which}`, { query: { ...params, limit: LIMIT, cursor }, signal });
      data.rows.push(...next.rows);
      cursor = next.next_cursor;
    }
    return data;
  }

  // ---- contact effectiveness ----

  function effectiveness(data, params, names, signal) {
    const parts = [asOfNote(params.as_of), withoutRate(data)];
    if (!data.total.interactions) {
      parts.push(
        h(
          'div',
          { class: 'empty analytics-empty' },
          h('p', { i18n: 'analytics.attribution.emptyTouches', i18nArgs: { from: params.from, to: params.to } }),
        ),
      );
      return parts;
    }
    const rows = sorted(data.rows, names);
    const total = data.total;
    parts.push(
      h('h2', { i18n: 'analytics.attribution.effectivenessChart', i18nArgs: { currency: data.currency } }),
      h('p', {
        class: 'analytics-summary',
        i18n: 'analytics.attribution.effectivenessSummary',
        i18nArgs: {
          interactions: total.interactions,
          followed: total.followed,
          conversion: total.conversion === null ? '—' : formatDecimal(total.conversion),
          window: data.window_days,
          revenue: formatDecimal(total.revenue),
          currency: data.currency,
        },
      }),
      effectivenessChart(rows, names, data.currency, signal).element,
      h('p', { class: 'muted', i18n: 'analytics.attribution.effectivenessNote' }),
    );
    const line = (row, isTotal) =>
      h(
        'tr',
        { class: isTotal ? 'analytics-total' : null, dataset: isTotal ? { total: 'true' } : { key: row.key } },
        h('th', { scope: 'row' }, isTotal ? h('span', { i18n: 'analytics.attribution.total' }) : keyCell(row.key, names, params)),
        h('td', { class: 'num', dataset: { column: 'interactions' }, text: String(row.interactions) }),
        h('td', { class: 'num', dataset: { column: 'followed' }, text: String(row.followed) }),
        h('td', { class: 'num', dataset: { column: 'conversion' }, text: percent(row.conversion) }),
        h('td', { class: 'num', dataset: { column: 'revenue' }, text: formatDecimal(row.revenue) }),
        h('td', { class: 'num', dataset: { column: 'profit' }, text: formatDecimal(row.profit) }),
      );
    parts.push(paged(rows, (page) => table(page.map((r) => line(r, false)), line(total, true), data.currency)));
    parts.push(downloads(`${API}/effectiveness`, params, { xlsx: false }));
    return parts;
  }

  function effectivenessChart(rows, names, currency, signal) {
    const spec = () => ({
      type: 'bar',
      data: {
        labels: rows.map((r) => names.get(r.key)),
        datasets: [
          {
            label: t('analytics.attribution.chartRevenue', { currency }),
            data: rows.map((r) => Number(r.revenue)), // drawn only: the table has the exact figures
            backgroundColor: '#1f7a4d',
            yAxisID: 'revenue',
          },
          {
            label: t('analytics.attribution.chartConversion'),
            data: rows.map((r) => (r.conversion === null ? null : Number(r.conversion))),
            backgroundColor: '#9a6c0088',
            borderColor: '#9a6c00',
            borderWidth: 1,
            yAxisID: 'conversion',
          },
        ],
      },
      options: {
        ...chartOptions(),
        scales: {
          revenue: {
            type: 'linear',
            position: 'left',
            beginAtZero: true,
            title: { display: true, text: t('analytics.attribution.chartRevenue', { currency }) },
          },
          conversion: {
            type: 'linear',
            position: 'right',
            beginAtZero: true,
            max: 100,
            grid: { drawOnChartArea: false },
            title: { display: true, text: t('analytics.attribution.chartConversion') },
          },
        },
      },
    });
    return chart({ spec, labelKey: 'analytics.attribution.effectivenessChartLabel', className: 'chart analytics-chart', signal });
  }

  // ---- attribution ----

  function attribution(answers, params, names, signal) {
    const [data] = answers;
    const parts = [asOfNote(params.as_of), withoutRate(data)];
    if (!data.sales) {
      parts.push(
        h(
          'div',
          { class: 'empty analytics-empty' },
          h('p', { i18n: 'analytics.attribution.emptySales', i18nArgs: { from: params.from, to: params.to } }),
          h('p', {}, h('a', { href: '#/analytics/import', i18n: 'analytics.abc.emptyImport' })),
        ),
      );
      return parts;
    }
    const touched = sorted(
      data.rows.filter((r) => !r.no_touch),
      names,
    );
    const untouched = data.rows.filter((r) => r.no_touch);
    const rows = [...touched, ...untouched];
    const noteId = uid('no-touch');
    parts.push(
      h('h2', { i18n: 'analytics.attribution.attributionChart', i18nArgs: { currency: data.currency } }),
      h('p', {
        class: 'analytics-summary',
        i18n: 'analytics.attribution.attributionSummary',
        i18nArgs: {
          revenue: formatDecimal(data.revenue),
          currency: data.currency,
          sales: data.sales,
          model: t(`analytics.attribution.model.${data.model}`),
          lookback: data.lookback_days,
        },
      }),
      attributionChart(answers, rows, names, data.currency, signal).element,
    );
    const line = (row) =>
      h(
        'tr',
        { class: row.no_touch ? 'analytics-no-touch' : null, dataset: row.no_touch ? { noTouch: 'true' } : { key: row.key } },
        h(
          'th',
          { scope: 'row' },
          row.no_touch
            ? h('span', { i18n: 'analytics.attribution.noTouch', 'aria-describedby': noteId })
            : keyCell(row.key, names, null),
        ),
        h('td', { class: 'num', dataset: { column: 'revenue' }, text: formatDecimal(row.revenue) }),
        h('td', { class: 'num', dataset: { column: 'share' }, text: percent(row.share) }),
        h('td', { class: 'num', dataset: { column: 'profit' }, text: formatDecimal(row.profit) }),
        h('td', { class: 'num', dataset: { column: 'sales' }, text: String(row.sales) }),
      );
    const total = h(
      'tr',
      { class: 'analytics-total', dataset: { total: 'true' } },
      h('th', { scope: 'row', i18n: 'analytics.attribution.total' }),
      h('td', { class: 'num', dataset: { column: 'revenue' }, text: formatDecimal(data.revenue) }),
      h('td', { class: 'num', text: Number(data.revenue) > 0 ? '100 %' : '—' }),
      h('td', { class: 'num', dataset: { column: 'profit' }, text: formatDecimal(data.profit) }),
      h('td', { class: 'num', dataset: { column: 'sales' }, text: String(data.sales) }),
    );
    parts.push(paged(rows, (page) => table(page.map(line), total, data.currency)));
    parts.push(
      h('p', {
        class: 'muted analytics-no-touch-note',
        id: noteId,
        i18n: 'analytics.attribution.noTouchNote',
        i18nArgs: { lookback: data.lookback_days, untouched: data.untouched, unlinked: data.unlinked },
      }),
      downloads(`${API}/attribution`, params, { xlsx: false }),
    );
    return parts;
  }

  function attributionChart(answers, rows, names, currency, signal) {
    const keys = rows.map((r) => r.key);
    for (const answer of answers.slice(1)) for (const r of answer.rows) if (!keys.includes(r.key)) keys.push(r.key);
    const spec = () => ({
      type: 'bar',
      data: {
        labels: keys.map((k) => (k === null ? t('analytics.attribution.noTouch') : names.get(k))),
        datasets: answers.map((answer) => {
          const credited = new Map(answer.rows.map((r) => [r.key, Number(r.revenue)]));
          return {
            label: t(`analytics.attribution.model.${answer.model}`),
            data: keys.map((k) => credited.get(k) ?? 0), // drawn only: the table has the exact figures
            backgroundColor: MODEL_COLORS[answer.model],
          };
        }),
      },
      options: {
        ...chartOptions(),
        scales: { y: { title: { display: true, text: t('analytics.attribution.chartCredited', { currency }) } } },
      },
    });
    return chart({ spec, labelKey: 'analytics.attribution.attributionChartLabel', className: 'chart analytics-chart', signal });
  }

  // ---- what both tabs share ----

  /** The facts left out for lack of a rate, as a note (nothing when there are none). */
  function withoutRate(data) {
    return withoutRateNote(data.without_rate, data.currency);
  }

  /** The rows in the order chosen: by name, or by a column's number (ties by name A–Z; no number least). */
  function sorted(rows, names) {
    const direction = sort.descending ? -1 : 1;
    const byName = (a, b) => (names.get(a.key) ?? '').localeCompare(names.get(b.key) ?? '');
    const value = (row) => (row[sort.column] === null ? -Number.MAX_VALUE : Number(row[sort.column]));
    const order =
      sort.column === 'key' ? (a, b) => direction * byName(a, b) : (a, b) => direction * (value(a) - value(b)) || byName(a, b);
    return [...rows].sort(order);
  }

  /** The group's name; an effectiveness row of a kind or a manager links to its interactions. */
  function keyCell(key, names, params) {
    const name = names.get(key);
    if (key === '') return h('span', { class: 'muted', text: name });
    if (!params || params.by === 'source') return h('span', { text: name });
    const filter = params.by === 'kind' ? { kind: key } : { responsible: key };
    return h('a', {
      href: href('/interactions', { state: 'completed', from: params.from, to: params.to, ...filter }),
      text: name,
      i18nAttrs: { title: 'analytics.attribution.toInteractions' },
    });
  }

  /** A table of `rows` with sortable headers and the `total` line at its foot. */
  function table(rows, total, currency) {
    const header = (column) => {
      const active = sort.column === column;
      const descending = active && sort.descending;
      return h(
        'th',
        { scope: 'col', class: column === 'key' ? null : 'num', 'aria-sort': active ? (descending ? 'descending' : 'ascending') : null },
        h('button', {
          type: 'button',
          class: `link-button${active ? ' active' : ''}`,
          dataset: { sort: column },
          i18n: `analytics.attribution.col.${column}`,
          i18nArgs: { by: t(`analytics.attribution.by.${by.value}`), currency },
          on: {
            click: () => {
              // The same column again turns the order round; another starts with the greatest (names A–Z).
              sort = active ? { column, descending: !sort.descending } : { column, descending: column !== 'key' };
              address();
              draw();
              results.querySelector(`th button[data-sort="${column}"]`)?.focus();
            },
          },
        }),
      );
    };
    return scrollable(
      h(
        'table',
        { class: 'data-table analytics-sortable analytics-attribution' },
        h('caption', { class: 'visually-hidden', i18n: `analytics.attribution.tab.${tab}` }),
        h('thead', {}, h('tr', {}, COLUMNS[tab].map(header))),
        h('tbody', {}, rows),
        h('tfoot', {}, total),
      ),
    );
  }

  /** The rows a page at a time (PAGE_SIZE), with the pager when there is more than one page. */
  function paged(rows, draw) {
    const box = h('div', { class: 'analytics-table' });
    const turn = (starts) => {
      const start = starts.at(-1) ?? 0;
      const end = Math.min(start + PAGE_SIZE, rows.length);
      const next = end < rows.length ? end : null;
      box.replaceChildren(draw(rows.slice(start, end)));
      if (rows.length > PAGE_SIZE) {
        const label = h('span', {
          class: 'muted',
          i18n: 'analytics.attribution.rowsOf',
          i18nArgs: { first: start + 1, last: end, groups: rows.length },
        });
        box.append(pager({ cursors: starts, next, turn, label }));
      }
    };
    turn([]);
    return box;
  }


  arrange();
  // Numbers and names are in the language on screen: a switch draws the report again.
  const stop = onLanguageChange(() => {
    if (report && !report.controller.signal.aborted && results.childElementCount) show();
  });
  ctx.signal.addEventListener('abort', stop);
  if (wanted('from') && wanted('to')) show();

  return h(
    'section',
    { class: 'analytics-page' },
    h('div', { class: 'page-head' }, heading('analytics.attribution.title')),
    h('p', { class: 'muted', i18n: 'analytics.attribution.intro' }),
    tablist,
    panel,
  );
}

/** The names of the groups `keys` of a grouping: Map key -> text ('' is "none"). */
async function namesOf(by, keys) {
  const names = new Map([['', t(`analytics.attribution.none.${by}`)]]);
  const real = keys.filter(Boolean);
  if (by === 'manager') {
    const found = await users(real);
    for (const key of real) names.set(key, displayName(found.get(key), key));
  } else if (by === 'source') {
    const { sources } = await ref.catalogsOrEmpty(['sources']);
    for (const key of real) names.set(key, ref.nameOf(sources, key));
  } else {
    for (const key of real) names.set(key, has(`ia.kind.${key}`) ? t(`ia.kind.${key}`) : key);
  }
  return names;
}

/** The sort as the address keeps it: "-revenue" (greatest first) or "key"; revenue first by default. */
function sortOf(text) {
  const column = text.replace(/^-/, '');
  const known = Object.values(COLUMNS).some((columns) => columns.includes(column));
  return known ? { column, descending: text.startsWith('-') } : { column: 'revenue', descending: true };
}

function sortText(sort) {
  return `${sort.descending ? '-' : ''}${sort.column}`;
}

function percent(text) {
  return text === null ? '—' : `${formatDecimal(text)} %`;
}

/** A 403 from the API: the role does not let the user see these reports. */
function forbidden(error) {
  return h(
    'div',
    { class: 'alert alert-error', role: 'alert' },
    h('p', { i18n: 'analytics.attribution.forbidden' }),
    error.problem?.detail ? h('p', { class: 'alert-detail', text: error.problem.detail }) : null,
  );
}
