// ABC analysis of customers (GET /api/v1/analytics/abc): the period (a preset or two days), the
// measure and the shares A/B/C (checked to sum to 100 at the field before asking), then the class
// distribution as a chart (customers and value per class) with the same numbers as a table, and the
// customers a page at a time in place order (the API's only order) with their counterparty's card
// linked when the code is linked. CSV and XLSX of the whole classification with these parameters.
// The parameters are kept in the address (#/analytics/abc?from=…&to=…), so a reload or a link shows
// the same report.
import * as api from '../../core/api.js';
import { chart } from '../../core/charts.js';
import { h } from '../../core/dom.js';
import { busy, clearErrors, field, formAlert, input, select, setFieldError, showErrors } from '../../core/forms.js';
import { formatDecimal, language, onLanguageChange, t } from '../../core/i18n.js';
import { replaceQuery } from '../../core/router.js';
import { errorBox, heading, scrollable } from '../../core/widgets.js';
import { counterpartyName } from './counterparty-names.js';
import { DEFAULT_PRESET, PRESETS, periodOf, presetOf } from './periods.js';

export const path = '/analytics/abc';
export const titleKey = 'analytics.abc.title';
export const permission = 'analytics:read';

const API = '/api/v1/analytics';
const MEASURES = ['revenue', 'revenue_without_vat', 'profit'];
const CLASSES = ['A', 'B', 'C'];
const PAGE_SIZE = 50;
const SHARE = /^\d{1,3}(\.\d{1,2})?$/;
const COLORS = { A: '#1f7a4d', B: '#9a6c00', C: '#5f6b78' };

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

export async function render(ctx) {
  const index = await api.get(API, { signal: ctx.signal }).then(({ data }) => data);
  const wanted = (name) => ctx.query.get(name) || '';

  const preset = select(PRESETS.map((p) => ({ value: p, label: `analytics.period.${p}` })));
  const from = input({ type: 'date', required: true });
  const to = input({ type: 'date', required: true });
  const by = select(MEASURES.map((m) => ({ value: m, label: `analytics.measure.${m}` })));
  const currency = input({ maxlength: '3', size: '4', placeholder: index.reporting_currency, autocapitalize: 'characters' });
  const shareInputs = CLASSES.map((c) =>
    input({
      inputmode: 'decimal',
      class: 'analytics-share',
      dataset: { class: c },
      i18nAttrs: { 'aria-label': 'analytics.abc.shareOf' },
      i18nArgs: { class: c },
    }),
  );
  const sharesError = h('p', { class: 'field-error', id: 'analytics-shares-error', hidden: true });
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
  for (const el of shareInputs) el.setAttribute('aria-describedby', 'analytics-shares-error');

  // What the address asks for, else the defaults.
  const initial = periodOf(DEFAULT_PRESET);
  from.value = wanted('from') || initial.from;
  to.value = wanted('to') || initial.to;
  preset.value = presetOf(from.value, to.value);
  by.value = MEASURES.includes(wanted('by')) ? wanted('by') : 'revenue';
  currency.value = wanted('currency');
  const shares = (wanted('shares') || '70/20/10').split('/');
  shareInputs.forEach((el, i) => {
    el.value = shares[i] ?? '';
  });

  preset.addEventListener('change', () => {
    const period = periodOf(preset.value);
    if (period) {
      from.value = period.from;
      to.value = period.to;
    }
  });
  for (const el of [from, to]) el.addEventListener('input', () => (preset.value = presetOf(from.value, to.value)));
  for (const el of shareInputs) el.addEventListener('input', () => checkShares());

  const submit = h('button', { type: 'submit', class: 'button primary', i18n: 'analytics.abc.show' });
  const form = h(
    'form',
    { class: 'analytics-form', novalidate: true, on: { submit: (e) => show(e) } },
    formAlert(),
    h(
      'div',
      { class: 'analytics-params' },
      field({ name: 'period', label: 'analytics.abc.period', control: preset }),
      field({ name: 'from', label: 'analytics.abc.from', control: from, required: true }),
      field({ name: 'to', label: 'analytics.abc.to', control: to, required: true }),
      field({ name: 'by', label: 'analytics.abc.by', control: by }),
      field({ name: 'currency', label: 'analytics.abc.currency', control: currency }),
    ),
    sharesField,
    h('div', { class: 'form-actions' }, submit),
  );
  const results = h('div', { class: 'analytics-results', 'aria-live': 'polite' });

  /** Show the shares' problem at their field (as they are typed, too); true when they are right. */
  function checkShares() {
    const problem = sharesProblem(shareInputs.map((el) => el.value));
    sharesError.hidden = true;
    sharesError.replaceChildren();
    for (const el of shareInputs) el.removeAttribute('aria-invalid');
    if (!problem) return true;
    setFieldError(form, 'shares', problem.key, problem.args);
    for (const el of shareInputs) el.setAttribute('aria-invalid', 'true');
    return false;
  }

  function parameters() {
    return {
      from: from.value,
      to: to.value,
      by: by.value,
      shares: shareInputs.map((el) => el.value.trim()).join('/'),
      currency: currency.value.trim().toUpperCase(),
    };
  }

  let report = null; // the classification on screen: { params, controller }

  async function show(event) {
    event?.preventDefault();
    clearErrors(form);
    let bad = false;
    for (const [name, el] of [['from', from], ['to', to]]) {
      if (!el.value) {
        setFieldError(form, name, 'analytics.abc.dateNeeded');
        bad = true;
      }
    }
    if (!bad && to.value < from.value) {
      setFieldError(form, 'to', 'analytics.abc.toBeforeFrom');
      bad = true;
    }
    if (!checkShares()) bad = true;
    if (bad) {
      form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    const params = parameters();
    replaceQuery(path, params);
    report?.controller.abort();
    const controller = new AbortController();
    ctx.signal.addEventListener('abort', () => controller.abort());
    report = { params, controller };
    busy(form, true);
    try {
      await showPage(params, controller.signal, []);
    } catch (error) {
      if (error.name === 'AbortError') return;
      results.replaceChildren();
      if (error instanceof api.ApiError && error.status === 422) showErrors(form, error);
      else results.replaceChildren(errorBox(error));
    } finally {
      busy(form, false);
    }
  }

  /** Ask for one page of rows: `cursors` are the pages before it (the last is where it starts). */
  async function showPage(params, signal, cursors) {
    const cursor = cursors.at(-1);
    const { data } = await api.get(`${API}/abc`, { query: { ...params, limit: PAGE_SIZE, cursor }, signal });
    if (signal.aborted) return;
    results.replaceChildren(...drawn(data, params, signal, cursors));
  }

  function drawn(data, params, signal, cursors) {
    const summary = h(
      'p',
      { class: 'analytics-summary' },
      h('span', {
        i18n: 'analytics.abc.summary',
        i18nArgs: { customers: data.customers, total: formatDecimal(data.total), currency: data.currency },
      }),
    );
    const parts = [h('h2', { i18n: 'analytics.abc.distribution' }), summary];
    const others = data.without_rate;
    if (others.length) {
      parts.push(
        h(
          'div',
          { class: 'alert alert-warning', role: 'note' },
          h('p', {
            i18n: 'analytics.abc.withoutRate',
            i18nArgs: {
              list: others.map((w) => `${w.currency}: ${w.facts} (${w.earliest})`).join(', '),
              currency: data.currency,
            },
          }),
        ),
      );
    }
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
      h('div', { class: 'analytics-overview' }, distributionChart(data, signal).element, classTable(data)),
      h('h2', { i18n: 'analytics.abc.customers' }),
      rowsTable(data),
      pager(data, params, signal, cursors),
      downloads(params),
    );
    return parts;
  }

  function distributionChart(data, signal) {
    const spec = () => ({
      type: 'bar',
      data: {
        labels: CLASSES.map((c) => t('analytics.abc.class', { class: c })),
        datasets: [
          {
            label: t('analytics.abc.chartCustomers'),
            data: CLASSES.map((c) => data.classes[c].customers),
            backgroundColor: CLASSES.map((c) => COLORS[c]),
            yAxisID: 'customers',
          },
          {
            label: t('analytics.abc.chartValue', { currency: data.currency }),
            data: CLASSES.map((c) => Number(data.classes[c].value)),
            backgroundColor: CLASSES.map((c) => `${COLORS[c]}88`),
            borderColor: CLASSES.map((c) => COLORS[c]),
            borderWidth: 1,
            yAxisID: 'value',
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        locale: language() === 'bg' ? 'bg-BG' : 'en-GB',
        plugins: { legend: { position: 'bottom' } },
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
            title: { display: true, text: t('analytics.abc.chartValue', { currency: data.currency }) },
          },
        },
      },
    });
    return chart({ spec, labelKey: 'analytics.abc.chartLabel', className: 'chart analytics-chart', signal });
  }

  function classTable(data) {
    const share = (value) => (Number(data.total) > 0 ? shareText(value, data.total) : '—');
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
              h('td', { class: 'num', text: String(data.classes[c].customers) }),
              h('td', { class: 'num', text: formatDecimal(data.classes[c].value) }),
              h('td', { class: 'num', text: share(data.classes[c].value) }),
            ),
          ),
        ),
      ),
    );
  }

  function rowsTable(data) {
    const columns = ['place', 'customer', 'counterparty', 'value', 'share', 'cumulative', 'class'];
    return scrollable(
      h(
        'table',
        { class: 'data-table analytics-rows' },
        h('caption', { class: 'visually-hidden', i18n: 'analytics.abc.customers' }),
        h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', i18n: `analytics.abc.col.${c}` })))),
        h(
          'tbody',
          {},
          data.rows.map((row) =>
            h(
              'tr',
              { dataset: { customer: row.customer } },
              h('td', { class: 'num', text: String(row.place) }),
              h('td', {}, h('code', { text: row.customer })),
              h('td', {}, counterpartyCell(row)),
              h('td', { class: 'num', text: formatDecimal(row.value) }),
              h('td', { class: 'num', text: Number(data.total) > 0 ? shareText(row.value, data.total) : '—' }),
              h('td', { class: 'num', text: row.cumulative_share === null ? '—' : `${formatDecimal(row.cumulative_share)} %` }),
              h('td', {}, classBadge(row.class)),
            ),
          ),
        ),
      ),
    );
  }

  function pager(data, params, signal, cursors) {
    const first = data.rows.length ? data.rows[0].place : 0;
    const last = data.rows.length ? data.rows.at(-1).place : 0;
    const previous = h('button', {
      type: 'button',
      class: 'button',
      i18n: 'analytics.abc.previous',
      disabled: cursors.length === 0,
      on: { click: () => turn(cursors.slice(0, -1)) },
    });
    const next = h('button', {
      type: 'button',
      class: 'button',
      i18n: 'analytics.abc.next',
      disabled: !data.next_cursor,
      on: { click: () => turn([...cursors, data.next_cursor]) },
    });
    async function turn(pages) {
      try {
        await showPage(params, signal, pages);
        results.querySelector('.analytics-rows')?.scrollIntoView({ block: 'start' });
      } catch (error) {
        if (error.name !== 'AbortError') results.append(errorBox(error));
      }
    }
    return h(
      'div',
      { class: 'analytics-pager' },
      previous,
      h('span', { class: 'muted', i18n: 'analytics.abc.rowsOf', i18nArgs: { first, last, customers: data.customers } }),
      next,
    );
  }

  function downloads(params) {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
    const xlsx = new URLSearchParams(query);
    xlsx.set('lang', language());
    return h(
      'p',
      { class: 'analytics-downloads' },
      h('a', { class: 'button', href: `${API}/abc.csv?${query}`, download: '', i18n: 'analytics.abc.csv' }),
      ' ',
      h('a', { class: 'button', href: `${API}/abc.xlsx?${xlsx}`, download: '', i18n: 'analytics.abc.xlsx' }),
    );
  }

  // Numbers are formatted for the language on screen: a switch draws the report again.
  const stop = onLanguageChange(() => {
    if (report && !report.controller.signal.aborted && results.childElementCount) show();
  });
  ctx.signal.addEventListener('abort', stop);
  if (wanted('from') && wanted('to')) show();

  return h(
    'section',
    { class: 'analytics-page' },
    h('div', { class: 'page-head' }, heading('analytics.abc.title')),
    h('p', { class: 'muted', i18n: 'analytics.abc.intro' }),
    form,
    results,
  );
}

/** `value` in percent of `total` with 2 decimals, from their decimal texts (for display only). */
function shareText(value, total) {
  return `${formatDecimal(((Number(value) * 100) / Number(total)).toFixed(2))} %`;
}

function classBadge(c) {
  return h('span', { class: `analytics-class analytics-class-${c.toLowerCase()}`, text: c });
}

/** The counterparty's name linked to its card when the customer code is linked to one, else a dash. */
function counterpartyCell(row) {
  if (!row.counterparty_id) return h('span', { class: 'muted', i18n: 'analytics.abc.notLinked' });
  const link = h('a', { href: `#/counterparties/${encodeURIComponent(row.counterparty_id)}`, text: row.customer });
  counterpartyName(row.counterparty_id).then((name) => {
    if (name) link.textContent = name;
  });
  return link;
}
