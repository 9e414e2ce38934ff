// ABC analysis of customers (GET /api/v1/analytics/abc): the period (a preset or two days), the
// measure and the shares A/B/C (checked to sum to 100 at the field before asking), then the class
// distribution as a chart (customers and value per class) with the same numbers as a table, and the
// customers a page at a time in place order (the API's only order) with their counterparty's card
// linked when the code is linked. CSV and XLSX of the whole classification with these parameters.
// Optionally as the CRM knew it at a moment (`as_of`). The parameters are kept in the address
// (#/analytics/abc?from=…&to=…), so a reload or a link shows the same report. The rule's back-test
// over past periods (backtest.js) is linked with the measure, shares and currency on the form.
import * as api from '../../core/api.js';
import { h } from '../../core/dom.js';
import { clearErrors, formAlert } from '../../core/forms.js';
import { formatDecimal, onLanguageChange } from '../../core/i18n.js';
import { userName } from '../../core/people.js';
import { href, replaceQuery } from '../../core/router.js';
import { errorBox, heading, scrollable } from '../../core/widgets.js';
import {
  abcParameters,
  classBadge,
  classTable,
  counterpartyCell,
  distributionChart,
  pager,
  shareText,
} from './abc-parts.js';
import { asOfField, asOfNote, downloads, reportRequests, withoutRateNote } from './report-form.js';

export const path = '/analytics/abc';
export const titleKey = 'analytics.abc.title';
export const permission = 'counterparty:read';

const API = '/api/v1/analytics';
const PAGE_SIZE = 50;

export async function render(ctx) {
  const index = await api.get(API, { signal: ctx.signal }).then(({ data }) => data);
  const wanted = (name) => ctx.query.get(name) || '';

  const controls = abcParameters({
    reportingCurrency: index.reporting_currency,
    initial: Object.fromEntries(['from', 'to', 'by', 'shares', 'currency'].map((name) => [name, wanted(name)])),
  });
  const asOf = asOfField(wanted('as_of'));
  controls.params.append(asOf.field);
  const values = () => ({ ...controls.values(), as_of: asOf.value() });

  const submit = h('button', { type: 'submit', class: 'button primary', i18n: 'analytics.abc.show' });
  const form = h(
    'form',
    { class: 'analytics-form', novalidate: true, on: { submit: (e) => show(e) } },
    formAlert(),
    controls.params,
    controls.shares,
    h('div', { class: 'form-actions' }, submit),
  );
  const results = h('div', { class: 'analytics-results', 'aria-live': 'polite' });
  // The back-test of the rule on the form, up to the end of its period.
  const backtestLink = h('a', { class: 'analytics-backtest-link', i18n: 'analytics.backtest.link' });
  const linkBacktest = () => {
    const { to, by, shares, currency } = controls.values();
    backtestLink.href = href('/analytics/abc/backtest', { to, by, shares: shares === '70/20/10' ? '' : shares, currency });
  };
  linkBacktest();
  form.addEventListener('input', linkBacktest);
  form.addEventListener('change', linkBacktest);

  let report = null; // the classification on screen: { params, controller }
  const ask = reportRequests(ctx, form, results);

  async function show(event) {
    event?.preventDefault();
    clearErrors(form);
    if (!controls.check(form)) return;
    const params = values();
    replaceQuery(path, params);
    await ask(async (controller) => {
      report = { params, controller };
      await showPage(params, controller.signal, []);
    });
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
    const parts = [h('h2', { i18n: 'analytics.abc.distribution' }), summary, asOfNote(params.as_of)].filter(Boolean);
    const others = withoutRateNote(data.without_rate, data.currency);
    if (others) parts.push(others);
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
        distributionChart(data.classes, data.currency, signal).element,
        classTable(data.classes, data.total),
      ),
      h('h2', { i18n: 'analytics.abc.customers' }),
      rowsTable(data),
      rowsPager(data, params, signal, cursors),
      downloads(`${API}/abc`, params),
    );
    return parts;
  }

  function rowsTable(data) {
    const columns = ['place', 'customer', 'counterparty', 'manager', 'value', 'share', 'cumulative', 'class'];
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
              h('td', {}, userName(row.manager)),
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

  function rowsPager(data, params, signal, cursors) {
    const first = data.rows.length ? data.rows[0].place : 0;
    const last = data.rows.length ? data.rows.at(-1).place : 0;
    async function turn(pages) {
      try {
        await showPage(params, signal, pages);
        results.querySelector('.analytics-rows')?.scrollIntoView({ block: 'start' });
      } catch (error) {
        if (error.name !== 'AbortError') results.append(errorBox(error));
      }
    }
    const label = h('span', {
      class: 'muted',
      i18n: 'analytics.abc.rowsOf',
      i18nArgs: { first, last, customers: data.customers },
    });
    return pager({ cursors, next: data.next_cursor, turn, label });
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
    h('p', {}, backtestLink),
    form,
    results,
  );
}
