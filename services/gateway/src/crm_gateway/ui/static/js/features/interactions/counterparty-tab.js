// The interactions tab of the counterparty card: the summary (counts by kind and by state, each a
// link to the global list filtered so — the drill-down —, the last completed and the next planned
// one), the counterparty's timeline (newest first, "more" over the cursor), and "Plan" / "Record".
import * as api from '../../core/api.js';
import { h } from '../../core/dom.js';
import {
  API,
  KINDS,
  STATES,
  interactionColumns,
  interactionHref,
  interactionRow,
  label,
  period,
  stateBadge,
} from './interaction-fields.js';
import * as session from '../../core/session.js';
import { errorBox, linkButton, loading, scrollable } from '../../core/widgets.js';

const PAGE_SIZE = 20;

export async function render(record, env) {
  if (!session.can('interaction:read')) return h('p', { class: 'empty', i18n: 'ia.tab.notAllowed' });
  const id = record.id;
  const listHref = (query = {}) => {
    const params = new URLSearchParams({ counterparty_id: id, ...query });
    return `#/interactions?${params}`;
  };
  const canPlan = session.can('interaction:write') && !record.archived;
  const newHref = (query = {}) =>
    `#/interactions/new?${new URLSearchParams({ counterparty_id: id, ...query })}`;
  const actions = h(
    'div',
    { class: 'form-actions ia-tab-actions' },
    canPlan ? linkButton(newHref(), 'ia.tab.plan', 'button primary') : null,
    canPlan ? linkButton(newHref({ state: 'completed' }), 'ia.tab.record', 'button') : null,
    linkButton(listHref(), 'ia.tab.inList', 'button button-quiet'),
  );

  let summary = null;
  try {
    ({ data: summary } = await api.get(`${API}/summary`, { query: { counterparty_id: id }, signal: env.signal }));
  } catch (error) {
    // 404: the interactions service has not heard of this counterparty yet (it learns of it from
    // contacts' events): nothing to sum up so far.
    if (!(error instanceof api.ApiError && error.status === 404)) throw error;
  }

  return h(
    'div',
    { class: 'ia-tab' },
    actions,
    summaryBox(summary, listHref),
    h('h2', { i18n: 'ia.tab.timeline' }),
    timeline(id, env.signal),
  );
}

function summaryBox(summary, listHref) {
  if (!summary || summary.total === 0) return h('p', { class: 'empty ia-summary-empty', i18n: 'ia.tab.none' });
  const counts = (what, values, counted) =>
    h(
      'ul',
      { class: 'cp-tags ia-counts', dataset: { counts: what } },
      values
        .filter((value) => counted[value])
        .map((value) =>
          h(
            'li',
            { dataset: { value } },
            h('a', { class: 'badge', href: listHref({ [what]: value }) }, label(what, value), `: ${counted[value]}`),
          ),
        ),
    );
  const one = (key, item) =>
    item
      ? h(
          'p',
          { class: 'ia-summary-one', dataset: { which: key } },
          h('strong', { i18n: `ia.tab.${key}` }),
          ' ',
          period(item),
          ' · ',
          label('kind', item.kind),
          ' · ',
          h('a', { href: interactionHref(item.id), text: item.subject }),
          ' ',
          stateBadge(item.state),
          item.outcome ? h('span', { class: 'muted', text: ` — ${item.outcome}` }) : null,
        )
      : h('p', { class: 'muted ia-summary-one', dataset: { which: key } }, h('span', { i18n: `ia.tab.${key}None` }));
  return h(
    'section',
    { class: 'panel ia-summary' },
    h('p', {}, h('span', { i18n: 'ia.tab.total', i18nArgs: { count: summary.total } })),
    h('div', { class: 'ia-summary-counts' }, counts('state', STATES, summary.by_state), counts('kind', KINDS, summary.by_kind)),
    one('next', summary.next),
    one('last', summary.last),
  );
}

/** The counterparty's interactions, newest first. */
function timeline(counterpartyId, signal) {
  const status = h('div', { class: 'list-status', 'aria-live': 'polite' }, loading());
  const rows = h('tbody');
  const table = h(
    'table',
    { class: 'data-table ia-table ia-timeline', hidden: true },
    h('caption', { class: 'visually-hidden', i18n: 'ia.tab.timeline' }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        interactionColumns({ withCounterparty: false }),
      ),
    ),
    rows,
  );
  const more = h('button', { type: 'button', class: 'button', i18n: 'ia.list.more', hidden: true });
  let cursor = null;

  async function load() {
    more.disabled = true;
    try {
      const { data } = await api.get(API, {
        query: { counterparty_id: counterpartyId, order: 'desc', limit: PAGE_SIZE, cursor },
        signal,
      });
      rows.append(...data.items.map((item) => interactionRow(item, { withCounterparty: false })));
      cursor = data.next_cursor;
      more.hidden = !cursor;
      table.hidden = rows.children.length === 0;
      status.replaceChildren(rows.children.length || cursor ? '' : h('p', { class: 'empty', i18n: 'ia.tab.noneListed' }));
    } catch (error) {
      if (error.name !== 'AbortError') status.replaceChildren(errorBox(error));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', load);
  load();
  return h('div', {}, status, scrollable(table), h('div', { class: 'list-more' }, more));
}
