// The counterparty register: name-prefix search, a kind filter, and "more" pagination over the
// API's keyset cursor. The search is kept in the address (#/counterparties?q=…&kind=…) so a reload
// or the back button shows the same list.
import * as api from '../api.js';
import { API, KINDS, kindText } from '../counterparty-fields.js';
import { h } from '../dom.js';
import { field, input, select } from '../forms.js';
import { replaceQuery } from '../router.js';
import * as session from '../session.js';
import { errorBox, heading, linkButton, loading, scrollable } from '../widgets.js';

export const path = '/counterparties';
export const titleKey = 'counterparties.title';
export const permission = 'counterparty:read';
export const navKey = 'nav.counterparties';

const PAGE_SIZE = 50;
const TYPING_DELAY_MS = 250; // search as you type, but not on every keystroke

export function render(ctx) {
  const q = input({
    type: 'search',
    value: ctx.query.get('q') || '',
    i18nAttrs: { placeholder: 'counterparties.searchPlaceholder' },
  });
  const kind = select([
    { value: '', label: 'counterparties.allKinds' },
    ...KINDS.map((k) => ({ value: k, label: `kind.${k}` })),
  ]);
  kind.value = KINDS.includes(ctx.query.get('kind')) ? ctx.query.get('kind') : '';

  const status = h('div', { class: 'list-status', 'aria-live': 'polite' });
  const rows = h('tbody');
  const table = h(
    'table',
    { class: 'data-table', hidden: true },
    h('caption', { class: 'visually-hidden', i18n: 'counterparties.title' }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['field.name', 'field.kind', 'field.tax_id', 'field.main_manager', 'field.access_group'].map((key) =>
          h('th', { scope: 'col', i18n: key }),
        ),
      ),
    ),
    rows,
  );
  const more = h('button', { type: 'button', class: 'button', i18n: 'counterparties.more', hidden: true });

  let cursor = null;
  let search = 0; // the latest search; answers to older ones are dropped
  let controller = null;

  async function load(append) {
    const mine = append ? search : ++search;
    controller?.abort();
    controller = new AbortController();
    const query = { q: q.value.trim(), kind: kind.value, limit: PAGE_SIZE, cursor: append ? cursor : null };
    if (!append) {
      replaceQuery(path, { q: query.q, kind: query.kind });
      status.replaceChildren(loading());
      table.setAttribute('aria-busy', 'true');
    }
    more.disabled = true;
    try {
      const { data } = await api.get(API, { query, signal: anySignal(controller.signal, ctx.signal) });
      if (mine !== search) return;
      if (!append) rows.replaceChildren();
      rows.append(...data.items.map(row));
      cursor = data.next_cursor;
      more.hidden = !cursor;
      table.hidden = rows.children.length === 0;
      status.replaceChildren(
        rows.children.length
          ? h('p', { class: 'muted', i18n: 'counterparties.shown', i18nArgs: { count: rows.children.length } })
          : empty(Boolean(query.q || query.kind)),
      );
    } catch (error) {
      if (error.name === 'AbortError' || mine !== search) return;
      status.replaceChildren(errorBox(error));
    } finally {
      table.removeAttribute('aria-busy');
      more.disabled = false;
    }
  }

  let typing = null;
  q.addEventListener('input', () => {
    clearTimeout(typing);
    // The rows on screen no longer answer the query: drop any answer still on its way and hide
    // "more", which would mix two searches.
    search += 1;
    controller?.abort();
    more.hidden = true;
    typing = setTimeout(() => load(false), TYPING_DELAY_MS);
  });
  kind.addEventListener('change', () => load(false));
  more.addEventListener('click', () => load(true));

  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      on: {
        submit: (e) => {
          e.preventDefault();
          clearTimeout(typing);
          load(false);
        },
      },
    },
    field({ name: 'q', label: 'counterparties.search', control: q }),
    field({ name: 'kind', label: 'field.kind', control: kind }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button', i18n: 'counterparties.find' })),
  );

  load(false);
  return h(
    'section',
    {},
    h(
      'div',
      { class: 'page-head' },
      heading('counterparties.title'),
      session.can('counterparty:write')
        ? linkButton('#/counterparties/new', 'counterparties.new', 'button primary')
        : null,
    ),
    form,
    status,
    scrollable(table),
    h('div', { class: 'list-more' }, more),
  );
}

function row(item) {
  return h(
    'tr',
    {},
    h('td', {}, h('a', { href: `#/counterparties/${encodeURIComponent(item.id)}`, text: item.name })),
    h('td', {}, kindText(item.kind)),
    h('td', { text: item.tax_id || '—' }),
    h('td', { text: item.main_manager }),
    h('td', { text: item.access_group ?? '—' }),
  );
}

function empty(filtered) {
  if (filtered) return h('p', { class: 'empty', i18n: 'counterparties.noMatches' });
  const box = h('div', { class: 'empty' }, h('p', { i18n: 'counterparties.empty' }));
  if (session.can('counterparty:write'))
    box.append(h('p', {}, h('a', { href: '#/counterparties/new', i18n: 'counterparties.createFirst' })));
  return box;
}

// Abort when either the newer search or leaving the page says so.
function anySignal(...signals) {
  if (AbortSignal.any) return AbortSignal.any(signals);
  const controller = new AbortController();
  for (const s of signals) s.addEventListener('abort', () => controller.abort(), { once: true });
  return controller.signal;
}
