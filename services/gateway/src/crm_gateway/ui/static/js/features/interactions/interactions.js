// Every interaction the user may see, with filters (period, kind, state, direction, responsible
// manager, counterparty, importance), newest or oldest first, and "more" over the API's keyset cursor
// (a user who sees only some access groups may get a short page with a cursor: "more" goes on).
// The filters are kept in the address (#/interactions?kind=call&…) so a reload, a link from a
// counterparty's card or the back button shows the same list.
import * as api from '../../core/api.js';
import { addDays } from '../../core/dates.js';
import { h } from '../../core/dom.js';
import { clearErrors, field, formAlert, input, select, showErrors } from '../../core/forms.js';
import {
  API,
  DIRECTIONS,
  IMPORTANCES,
  KINDS,
  STATES,
  dayStart,
  interactionColumns,
  interactionRow,
} from './interaction-fields.js';
import { counterpartyNamed, counterpartyPicker, userSelect } from './interaction-pickers.js';
import { replaceQuery } from '../../core/router.js';
import * as session from '../../core/session.js';
import { errorBox, heading, linkButton, loading, scrollable } from '../../core/widgets.js';

export const path = '/interactions';
export const titleKey = 'ia.list.title';
export const permission = 'interaction:read';

const PAGE_SIZE = 50;
const ORDERS = ['desc', 'asc'];
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export async function render(ctx) {
  const wanted = (name) => ctx.query.get(name) || '';
  const choice = (what, values) =>
    select([{ value: '', label: `ia.list.any.${what}` }, ...values.map((v) => ({ value: v, label: `ia.${what}.${v}` }))]);

  const controls = {
    from: input({ type: 'date' }),
    to: input({ type: 'date' }),
    kind: choice('kind', KINDS),
    state: choice('state', STATES),
    direction: choice('direction', DIRECTIONS),
    importance: choice('importance', IMPORTANCES),
    order: select(ORDERS.map((o) => ({ value: o, label: `ia.list.order.${o}` }))),
  };
  controls.from.value = DAY.test(wanted('from')) ? wanted('from') : '';
  controls.to.value = DAY.test(wanted('to')) ? wanted('to') : '';
  for (const [name, values] of [
    ['kind', KINDS],
    ['state', STATES],
    ['direction', DIRECTIONS],
    ['importance', IMPORTANCES],
  ]) {
    controls[name].value = values.includes(wanted(name)) ? wanted(name) : '';
  }
  controls.order.value = ORDERS.includes(wanted('order')) ? wanted('order') : 'desc';
  const responsible = userSelect({ name: 'responsible', labelKey: 'ia.list.responsible', anyKey: 'ia.list.anyone' });
  responsible.fill(wanted('responsible'));
  const counterparty = counterpartyPicker({ hintKey: 'ia.list.counterpartyHint' });
  if (wanted('counterparty_id')) counterparty.fill(await counterpartyNamed(wanted('counterparty_id')));
  let threadId = wanted('thread_id');
  const threadNote = h('p', { class: 'ia-thread-filter', hidden: !threadId });

  const status = h('div', { class: 'list-status', 'aria-live': 'polite' });
  const rows = h('tbody');
  const table = h(
    'table',
    { class: 'data-table ia-table', hidden: true },
    h('caption', { class: 'visually-hidden', i18n: 'ia.list.title' }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        interactionColumns(),
      ),
    ),
    rows,
  );
  const more = h('button', { type: 'button', class: 'button', i18n: 'ia.list.more', hidden: true });

  let cursor = null;
  let search = 0; // the latest search; answers to older ones are dropped
  let controller = null;

  /** The filters as shown in the address. */
  function criteria() {
    return {
      from: controls.from.value,
      to: controls.to.value,
      kind: controls.kind.value,
      state: controls.state.value,
      direction: controls.direction.value,
      importance: controls.importance.value,
      responsible: responsible.value(),
      counterparty_id: counterparty.value() || '',
      thread_id: threadId,
      order: controls.order.value === 'desc' ? '' : controls.order.value,
    };
  }

  /** The filters as the API takes them: whole days of the browser's time zone, `to` included. */
  function apiQuery(shown) {
    return {
      ...shown,
      from: shown.from ? dayStart(shown.from).toISOString() : '',
      to: shown.to ? dayStart(addDays(shown.to, 1)).toISOString() : '',
      order: controls.order.value,
    };
  }

  async function load(append) {
    const mine = append ? search : ++search;
    controller?.abort();
    controller = new AbortController();
    const shown = criteria();
    if (!append) {
      replaceQuery(path, shown);
      clearErrors(form);
      status.replaceChildren(loading());
      table.setAttribute('aria-busy', 'true');
      threadNote.hidden = !threadId;
    }
    more.disabled = true;
    try {
      const query = { ...apiQuery(shown), limit: PAGE_SIZE, cursor: append ? cursor : null };
      const signal = AbortSignal.any ? AbortSignal.any([controller.signal, ctx.signal]) : controller.signal;
      const { data } = await api.get(API, { query, signal });
      if (mine !== search) return;
      if (!append) rows.replaceChildren();
      rows.append(...data.items.map((item) => interactionRow(item)));
      cursor = data.next_cursor;
      more.hidden = !cursor;
      table.hidden = rows.children.length === 0;
      const filtered = Object.entries(shown).some(([name, value]) => name !== 'order' && value);
      status.replaceChildren(
        rows.children.length
          ? h('p', { class: 'muted', i18n: 'ia.list.shown', i18nArgs: { count: rows.children.length } })
          : cursor
            ? h('p', { class: 'muted', i18n: 'ia.list.noneYet' })
            : empty(filtered),
      );
    } catch (error) {
      if (error.name === 'AbortError' || mine !== search) return;
      table.hidden = true;
      more.hidden = true;
      if (error instanceof api.ApiError && error.status === 422 && error.errors.length) {
        status.replaceChildren();
        showErrors(form, error, 'ia.list.badFilter');
      } else {
        status.replaceChildren(errorBox(error));
      }
    } finally {
      table.removeAttribute('aria-busy');
      more.disabled = false;
    }
  }

  for (const control of Object.values(controls)) control.addEventListener('change', () => load(false));
  responsible.onChange(() => load(false));
  counterparty.onChange(() => load(false));
  more.addEventListener('click', () => load(true));
  threadNote.append(
    h('span', { i18n: 'ia.list.threadOnly' }),
    ' ',
    h('button', {
      type: 'button',
      class: 'button-quiet button-small',
      i18n: 'ia.list.threadClear',
      on: {
        click: () => {
          threadId = '';
          load(false);
        },
      },
    }),
  );

  const form = h(
    'form',
    {
      class: 'filters cp-filters ia-filters',
      role: 'search',
      novalidate: true,
      on: {
        submit: (e) => {
          e.preventDefault();
          load(false);
        },
      },
    },
    formAlert(),
    field({ name: 'from', label: 'ia.list.from', control: controls.from }),
    field({ name: 'to', label: 'ia.list.to', control: controls.to }),
    field({ name: 'kind', label: 'ia.field.kind', control: controls.kind }),
    field({ name: 'state', label: 'ia.field.state', control: controls.state }),
    field({ name: 'direction', label: 'ia.field.direction', control: controls.direction }),
    field({ name: 'importance', label: 'ia.field.importance', control: controls.importance }),
    responsible.wrapper,
    field({ name: 'order', label: 'ia.list.order', control: controls.order }),
    counterparty.wrapper,
  );

  load(false);
  return h(
    'section',
    {},
    h(
      'div',
      { class: 'page-head' },
      heading('ia.list.title'),
      h(
        'div',
        { class: 'form-actions' },
        linkButton('#/calendar', 'ia.list.calendar', 'button'),
        session.can('interaction:write') ? linkButton('#/interactions/new', 'ia.list.plan', 'button primary') : null,
      ),
    ),
    form,
    threadNote,
    status,
    scrollable(table),
    h('div', { class: 'list-more' }, more),
  );
}

function empty(filtered) {
  if (filtered) return h('p', { class: 'empty', i18n: 'ia.list.noMatches' });
  const box = h('div', { class: 'empty' }, h('p', { i18n: 'ia.list.empty' }));
  if (session.can('interaction:write'))
    box.append(h('p', {}, h('a', { href: '#/interactions/new', i18n: 'ia.list.planFirst' })));
  return box;
}
