// Analysis of interactions and information sources (GET /api/v1/analytics/sources and
// /sources/history): the period (a preset or two days), an optional third level (item or division),
// an optional "as of" moment and the chart's bucket; then revenue by source over time as a stacked
// bar chart (with its numbers as a table), and the report's table: one row per information source
// with each measure and its % of the total, sorted by the measure whose header is chosen (greatest
// first, as the API orders); a source row opens to its counterparties (each % of the source; more
// loaded on demand through the answer's `more` link), a counterparty row to its items or divisions.
// Read as of a moment (`as_of`), the report says so above its figures.
// Counterparties link to their card, names resolved one card at a time; customer codes no
// counterparty carries are shown as "not linked". CSV and XLSX of the whole report with these
// parameters. Sales managers see their access groups' rows (the API limits them). The parameters
// are kept in the address, so a reload or a link shows the same report.
import * as api from '../../core/api.js';
import { h } from '../../core/dom.js';
import { clearErrors, field, formAlert, select } from '../../core/forms.js';
import { formatDecimal, onLanguageChange, t } from '../../core/i18n.js';
import { replaceQuery } from '../../core/router.js';
import { errorBox, heading, scrollable } from '../../core/widgets.js';
import { chart } from '../../core/charts.js';
import { chartOptions, pager } from './abc-parts.js';
import { counterpartyName } from './counterparty-names.js';
import { periodFields } from './periods.js';
import { asOfField, asOfNote, downloads, reportRequests, withoutRateNote } from './report-form.js';

export const path = '/analytics/sources';
export const titleKey = 'analytics.sources.title';
export const permission = 'counterparty:read';

const API = '/api/v1/analytics';
const PAGE_SIZE = 50;
const COUNTERPARTIES = 20;
const MEASURES = ['revenue', 'revenue_without_vat', 'profit', 'sales', 'quantity', 'incoming'];
const PALETTE = ['#1f7a4d', '#2c5fa8', '#9a6c00', '#a23b3b', '#6a4c93', '#1b7f8c', '#8a5a2b', '#5f6b78', '#b5487a', '#4d7a1f'];

export async function render(ctx) {
  const index = await api.get(API, { signal: ctx.signal }).then(({ data }) => data);
  const wanted = (name) => ctx.query.get(name) || '';

  const period = periodFields({ from: wanted('from'), to: wanted('to') });
  const by = select([
    { value: '', label: 'analytics.sources.byNone' },
    { value: 'item', label: 'analytics.sources.byItem' },
    { value: 'division', label: 'analytics.sources.byDivision' },
  ]);
  const asOf = asOfField(wanted('as_of'));
  const bucket = select([
    { value: 'month', label: 'analytics.sources.bucketMonth' },
    { value: 'quarter', label: 'analytics.sources.bucketQuarter' },
  ]);
  by.value = ['item', 'division'].includes(wanted('by')) ? wanted('by') : '';
  bucket.value = wanted('bucket') === 'quarter' ? 'quarter' : 'month';
  let sort = MEASURES.includes(wanted('sort')) ? wanted('sort') : 'revenue';

  const submit = h('button', { type: 'submit', class: 'button primary', i18n: 'analytics.sources.show' });
  const form = h(
    'form',
    { class: 'analytics-form', novalidate: true, on: { submit: (e) => show(e) } },
    formAlert(),
    h(
      'div',
      { class: 'analytics-params' },
      period.fields,
      field({ name: 'by', label: 'analytics.sources.by', control: by }),
      asOf.field,
      field({ name: 'bucket', label: 'analytics.sources.bucket', control: bucket }),
    ),
    h('div', { class: 'form-actions' }, submit),
  );
  const results = h('div', { class: 'analytics-results', 'aria-live': 'polite' });
  let report = null; // { params, controller }
  const ask = reportRequests(ctx, form, results);

  function values() {
    const params = period.values();
    if (by.value) params.by = by.value;
    if (asOf.value()) params.as_of = asOf.value();
    if (sort !== 'revenue') params.sort = sort;
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
    replaceQuery(path, { ...params, bucket: bucket.value });
    await ask(async (controller) => {
      report = { params, controller };
      const [history, page] = await Promise.all([
        api.get(`${API}/sources/history`, { query: { ...params, bucket: bucket.value }, signal: controller.signal }),
        api.get(`${API}/sources`, {
          query: { ...params, limit: PAGE_SIZE, counterparties: COUNTERPARTIES },
          signal: controller.signal,
        }),
      ]);
      if (controller.signal.aborted) return;
      results.replaceChildren(...drawn(history.data, page.data, params, controller.signal, []));
    });
  }

  function drawn(history, data, params, signal, afters) {
    const parts = [asOfNote(params.as_of)].filter(Boolean);
    const others = withoutRateNote(data.without_rate, data.currency);
    if (others) parts.push(others);
    if (!data.sources) {
      parts.push(
        h(
          'div',
          { class: 'empty analytics-empty' },
          h('p', { i18n: 'analytics.sources.empty', i18nArgs: { from: params.from, to: params.to } }),
          h('p', {}, h('a', { href: '#/analytics/import', i18n: 'analytics.abc.emptyImport' })),
        ),
      );
      return parts;
    }
    parts.push(
      h('h2', { i18n: 'analytics.sources.chartTitle', i18nArgs: { currency: history.currency } }),
      historyChart(history, signal).element,
      historyTable(history),
      h('h2', { i18n: 'analytics.sources.tableTitle' }),
      h('p', {
        class: 'analytics-summary',
        i18n: 'analytics.sources.summary',
        i18nArgs: {
          sources: data.sources,
          revenue: formatDecimal(data.total.revenue),
          currency: data.currency,
          sales: data.total.sales,
          incoming: data.total.incoming,
        },
      }),
      sourcesTable(data, params, signal),
      sourcesPager(data, params, signal, afters, history),
      downloads(`${API}/sources`, params),
    );
    return parts;
  }

  function sourceLabel(row) {
    if (!row.source) return h('span', { class: 'muted', i18n: 'analytics.sources.noSource' });
    return h('span', { text: row.name || row.source });
  }

  function historyChart(history, signal) {
    const spec = () => ({
      type: 'bar',
      data: {
        labels: history.buckets.map((b) => bucketLabel(b, history.bucket)),
        datasets: history.series.map((s, i) => ({
          label: s.source ? s.name || s.source : t('analytics.sources.noSource'),
          data: s.values.map(Number), // drawn only: the table beside it has the exact figures
          backgroundColor: PALETTE[i % PALETTE.length],
          stack: 'revenue',
        })),
      },
      options: {
        ...chartOptions(),
        scales: {
          x: { stacked: true },
          y: { stacked: true, title: { display: true, text: t('analytics.sources.chartAxis', { currency: history.currency }) } },
        },
      },
    });
    return chart({ spec, labelKey: 'analytics.sources.chartLabel', className: 'chart analytics-chart', signal });
  }

  function historyTable(history) {
    return scrollable(
      h(
        'table',
        { class: 'data-table analytics-history' },
        h('caption', { i18n: 'analytics.sources.historyCaption' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', i18n: 'analytics.sources.col.source' }),
            history.buckets.map((b) => h('th', { scope: 'col', class: 'num', text: bucketLabel(b, history.bucket) })),
          ),
        ),
        h(
          'tbody',
          {},
          history.series.map((s) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, sourceLabel(s)),
              s.values.map((v) => h('td', { class: 'num', text: formatDecimal(v) })),
            ),
          ),
        ),
      ),
    );
  }

  function sortButton(measure) {
    const active = measure === sort;
    return h(
      'th',
      { scope: 'col', class: 'num', 'aria-sort': active ? 'descending' : null, colspan: '2' },
      h('button', {
        type: 'button',
        class: `link-button${active ? ' active' : ''}`,
        dataset: { sort: measure },
        i18n: `analytics.sources.col.${measure}`,
        on: {
          click: () => {
            sort = measure;
            show();
          },
        },
      }),
    );
  }

  function cells(row) {
    return MEASURES.flatMap((m) => {
      const value = row.measures[m];
      const share = row.shares[m];
      const text = value === null ? '—' : m === 'sales' || m === 'incoming' ? String(value) : formatDecimal(value);
      return [
        h('td', { class: 'num', dataset: { measure: m }, text }),
        h('td', { class: 'num muted', dataset: { share: m }, text: share === null ? '—' : `${formatDecimal(share)} %` }),
      ];
    });
  }

  function sourcesTable(data, params, signal) {
    const body = h('tbody', {});
    for (const row of data.rows) body.append(...sourceRows(row, params, signal));
    return scrollable(
      h(
        'table',
        { class: 'data-table analytics-sources' },
        h('caption', { class: 'visually-hidden', i18n: 'analytics.sources.tableTitle' }),
        h(
          'thead',
          {},
          h('tr', {}, h('th', { scope: 'col', i18n: 'analytics.sources.col.source' }), MEASURES.map(sortButton)),
          h(
            'tr',
            { class: 'analytics-subhead' },
            h('th', {}),
            MEASURES.flatMap(() => [
              h('th', { scope: 'col', class: 'num', i18n: 'analytics.sources.col.value' }),
              h('th', { scope: 'col', class: 'num', i18n: 'analytics.sources.col.share' }),
            ]),
          ),
        ),
        body,
      ),
    );
  }

  /** A source's row with its open/close button; its counterparties' rows follow when opened. */
  function sourceRows(row, params, signal) {
    const toggle = h(
      'button',
      {
        type: 'button',
        class: 'link-button analytics-toggle',
        'aria-expanded': 'false',
        dataset: { source: row.source },
      },
      sourceLabel(row),
      h('span', { class: 'muted', text: ` (${row.counterparties})` }),
    );
    const tr = h('tr', { class: 'analytics-source', dataset: { source: row.source } }, h('th', { scope: 'row' }, toggle), cells(row));
    let children = [];
    let more = null;
    toggle.addEventListener('click', () => {
      const open = toggle.getAttribute('aria-expanded') !== 'true';
      toggle.setAttribute('aria-expanded', String(open));
      if (!open) {
        for (const el of children) el.remove();
        more?.remove();
        children = [];
        more = null;
        return;
      }
      let last = tr;
      const add = (elements) => {
        for (const el of elements) {
          last.after(el);
          last = el;
          children.push(el);
        }
      };
      const moreRow = (link) => {
        if (!link) return null;
        const button = h('button', { type: 'button', class: 'button', i18n: 'analytics.sources.more' });
        const line = h('tr', { class: 'analytics-more' }, h('td', { colspan: String(1 + 2 * MEASURES.length) }, button));
        button.addEventListener('click', async () => {
          button.disabled = true;
          try {
            const { data } = await api.get(link, { signal });
            const [next] = data.rows;
            line.remove();
            add((next?.counterparty_rows ?? []).flatMap((c) => counterpartyRows(c, signal)));
            more = moreRow(next?.more);
            if (more) add([more]);
          } catch (error) {
            if (error.name !== 'AbortError') line.after(h('tr', {}, h('td', { colspan: '13' }, errorBox(error))));
            button.disabled = false;
          }
        });
        return line;
      };
      add(row.counterparty_rows.flatMap((c) => counterpartyRows(c, signal)));
      more = moreRow(row.more);
      if (more) add([more]);
    });
    return [tr];
  }

  function counterpartyRows(row, signal) {
    const label = row.counterparty_id
      ? counterpartyLink(row.counterparty_id)
      : row.customer
        ? h('span', {}, h('code', { text: row.customer }), ' ', h('span', { class: 'muted', i18n: 'analytics.abc.notLinked' }))
        : h('span', { class: 'muted', i18n: 'analytics.sources.noCounterparty' });
    const line = h(
      'tr',
      { class: 'analytics-counterparty', dataset: { counterparty: row.counterparty_id ?? '', customer: row.customer ?? '' } },
      h('th', { scope: 'row', class: 'indent-1' }, label),
      cells(row),
    );
    const details = row.details.map((d) =>
      h(
        'tr',
        { class: 'analytics-detail', dataset: { detail: d.detail } },
        h('th', { scope: 'row', class: 'indent-2' }, d.detail ? h('code', { text: d.detail }) : h('span', { class: 'muted', text: '—' })),
        cells(d),
      ),
    );
    return [line, ...details];
  }

  function counterpartyLink(id) {
    const link = h('a', { href: `#/counterparties/${encodeURIComponent(id)}`, text: id.slice(0, 8) });
    counterpartyName(id).then((name) => {
      if (name) link.textContent = name;
    });
    return link;
  }

  function sourcesPager(data, params, signal, afters, history) {
    async function turn(pages) {
      try {
        const { data: next } = await api.get(`${API}/sources`, {
          query: { ...params, limit: PAGE_SIZE, counterparties: COUNTERPARTIES, after: pages.at(-1) },
          signal,
        });
        if (signal.aborted) return;
        results.replaceChildren(...drawn(history, next, params, signal, pages));
        results.querySelector('.analytics-sources')?.scrollIntoView({ block: 'start' });
      } catch (error) {
        if (error.name !== 'AbortError') results.append(errorBox(error));
      }
    }
    const first = data.rows.length ? data.rows[0].place : 0;
    const last = data.rows.length ? data.rows.at(-1).place : 0;
    const label = h('span', { class: 'muted', i18n: 'analytics.sources.rowsOf', i18nArgs: { first, last, sources: data.sources } });
    return pager({ cursors: afters, next: data.next_after, turn, label });
  }


  const stop = onLanguageChange(() => {
    if (report && !report.controller.signal.aborted && results.childElementCount) show();
  });
  ctx.signal.addEventListener('abort', stop);
  if (wanted('from') && wanted('to')) show();

  return h(
    'section',
    { class: 'analytics-page' },
    h('div', { class: 'page-head' }, heading('analytics.sources.title')),
    h('p', { class: 'muted', i18n: 'analytics.sources.intro', i18nArgs: { zone: index.time_zone ?? 'UTC' } }),
    form,
    results,
  );
}

/** "2026-03" or "2026 Q1" of a bucket's first day. */
function bucketLabel(day, bucket) {
  const [year, month] = day.split('-');
  return bucket === 'quarter' ? `${year} Q${Math.floor((Number(month) - 1) / 3) + 1}` : `${year}-${month}`;
}
