// The counterparty register: one search box (a word of the name, an e-mail, a phone or a tax id),
// filters (relation, group, manager, category, ABC class, relationship stage, XYZ class, archived),
// sorting, and "more" pagination over the API's keyset cursor. Everything is kept in the address (#/counterparties?q=…&relation=…) so a
// reload or the back button shows the same list.
import * as api from '../../core/api.js';
import {
  ABC_CLASSES,
  API,
  RELATIONS,
  STAGES,
  XYZ_CLASSES,
  abcBadge,
  codesText,
  groupPath,
  groupTree,
  mainContact,
  relationsText,
  stageBadge,
  xyzBadge,
} from './counterparty-fields.js';
import { h } from '../../core/dom.js';
import { field, input, select } from '../../core/forms.js';
import * as ref from '../../core/reference-cache.js';
import { replaceQuery } from '../../core/router.js';
import * as session from '../../core/session.js';
import { userPicker } from '../../core/user-picker.js';
import { userName } from '../../core/people.js';
import { errorBox, heading, linkButton, loading, scrollable } from '../../core/widgets.js';

export const path = '/counterparties';
export const titleKey = 'counterparties.title';
export const permission = 'counterparty:read';

const PAGE_SIZE = 50;
const TYPING_DELAY_MS = 250; // search as you type, but not on every keystroke
const ARCHIVED = ['false', 'true', 'any'];
const SORTS = ['name', 'registered_at'];

export async function render(ctx) {
  const catalogs = await ref.catalogsOrEmpty(['groups', 'categories']);
  const wanted = (name) => ctx.query.get(name) || '';

  const q = input({
    type: 'search',
    value: wanted('q'),
    i18nAttrs: { placeholder: 'cp.list.searchPlaceholder' },
  });
  const relation = select([
    { value: '', label: 'cp.list.allRelations' },
    ...RELATIONS.map((r) => ({ value: r, label: `cp.relation.${r}` })),
  ]);
  const group = h(
    'select',
    {},
    h('option', { value: '', i18n: 'cp.list.allGroups' }),
    groupTree(catalogs.groups).map(({ entry, depth }) =>
      h('option', { value: entry.code, text: `${'\u00a0\u00a0\u00a0'.repeat(depth)}${entry.name}` }),
    ),
  );
  const category = h(
    'select',
    {},
    h('option', { value: '', i18n: 'cp.list.allCategories' }),
    ref.applying(catalogs.categories, 'counterparty').map((e) => h('option', { value: e.code, text: e.name })),
  );
  const manager = userPicker({ name: 'manager', labelKey: 'cp.list.manager', anyKey: 'cp.list.anyManager' });
  // What analytics gives a counterparty: "all" or one of the values, as the address says.
  const analyticsChoice = (name, allKey, values, labelKey) => {
    const control = select([{ value: '', label: allKey }, ...values.map((v) => ({ value: v, label: labelKey(v) }))]);
    control.value = values.includes(wanted(name)) ? wanted(name) : '';
    return control;
  };
  const abcClass = analyticsChoice('abc_class', 'cp.list.allAbcClasses', ABC_CLASSES, (c) => `cp.abc.class.${c}`);
  const stage = analyticsChoice('stage', 'cp.list.allStages', STAGES, (s) => `cp.stage.${s}`);
  const xyzClass = analyticsChoice('xyz_class', 'cp.list.allXyzClasses', XYZ_CLASSES, (c) => `cp.xyz.class.${c}`);
  const archived = select(ARCHIVED.map((a) => ({ value: a, label: `cp.list.archived.${a}` })));
  const sort = select(SORTS.map((s) => ({ value: s, label: `cp.list.sort.${s}` })));
  relation.value = RELATIONS.includes(wanted('relation')) ? wanted('relation') : '';
  group.value = wanted('group');
  category.value = wanted('category');
  manager.fill(wanted('manager'));
  archived.value = ARCHIVED.includes(wanted('archived')) ? wanted('archived') : 'false';
  sort.value = SORTS.includes(wanted('sort')) ? wanted('sort') : 'name';
  const filters = { relation, group, category, abc_class: abcClass, stage, xyz_class: xyzClass, archived, sort };

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
        [
          'field.name',
          'cp.field.relations',
          'field.tax_id',
          'cp.field.external_codes',
          'cp.field.abc_class',
          'cp.field.stage',
          'cp.field.xyz_class',
          'cp.list.phone',
          'cp.list.email',
          'cp.field.group',
          'field.main_manager',
        ].map((key) => h('th', { scope: 'col', i18n: key })),
      ),
    ),
    rows,
  );
  const more = h('button', { type: 'button', class: 'button', i18n: 'counterparties.more', hidden: true });

  let cursor = null;
  let search = 0; // the latest search; answers to older ones are dropped
  let controller = null;

  function criteria() {
    const query = { q: q.value.trim() };
    for (const [name, control] of Object.entries(filters)) query[name] = control.value.trim();
    query.manager = manager.value();
    if (query.archived === 'false') query.archived = ''; // the default: keep the address short
    if (query.sort === 'name') query.sort = '';
    return query;
  }

  async function load(append) {
    const mine = append ? search : ++search;
    controller?.abort();
    controller = new AbortController();
    const shown = criteria();
    const query = { ...shown, limit: PAGE_SIZE, cursor: append ? cursor : null };
    if (!append) {
      replaceQuery(path, shown);
      status.replaceChildren(loading());
      table.setAttribute('aria-busy', 'true');
    }
    more.disabled = true;
    try {
      const { data } = await api.get(API, { query, signal: anySignal(controller.signal, ctx.signal) });
      if (mine !== search) return;
      if (!append) rows.replaceChildren();
      rows.append(...data.items.map((item) => row(item, catalogs)));
      cursor = data.next_cursor;
      more.hidden = !cursor;
      table.hidden = rows.children.length === 0;
      status.replaceChildren(
        rows.children.length
          ? h('p', { class: 'muted', i18n: 'counterparties.shown', i18nArgs: { count: rows.children.length } })
          : empty(Object.values(shown).some(Boolean)),
      );
    } catch (error) {
      if (error.name === 'AbortError' || mine !== search) return;
      table.hidden = true;
      more.hidden = true;
      status.replaceChildren(
        oneLookupOnly(error) ? h('p', { class: 'alert alert-warning', i18n: 'cp.list.oneLookup' }) : errorBox(error),
      );
    } finally {
      table.removeAttribute('aria-busy');
      more.disabled = false;
    }
  }

  let typing = null;
  const typed = () => {
    clearTimeout(typing);
    // The rows on screen no longer answer the query: drop any answer still on its way and hide
    // "more", which would mix two searches.
    search += 1;
    controller?.abort();
    more.hidden = true;
    typing = setTimeout(() => load(false), TYPING_DELAY_MS);
  };
  q.addEventListener('input', typed);
  manager.onChange(() => load(false));
  for (const control of [relation, group, category, abcClass, stage, xyzClass, archived, sort]) {
    control.addEventListener('change', () => load(false));
  }
  more.addEventListener('click', () => load(true));

  const form = h(
    'form',
    {
      class: 'filters cp-filters',
      role: 'search',
      on: {
        submit: (e) => {
          e.preventDefault();
          clearTimeout(typing);
          load(false);
        },
      },
    },
    h(
      'div',
      { class: 'cp-search' },
      field({ name: 'q', label: 'cp.list.search', control: q, hint: 'cp.list.searchHint' }),
      h('button', { type: 'submit', class: 'button', i18n: 'counterparties.find' }),
    ),
    field({ name: 'relation', label: 'cp.field.relations', control: relation }),
    field({ name: 'group', label: 'cp.field.group', control: group }),
    manager.wrapper,
    field({ name: 'category', label: 'cp.list.category', control: category }),
    field({ name: 'abc_class', label: 'cp.field.abc_class', control: abcClass }),
    field({ name: 'stage', label: 'cp.field.stage', control: stage }),
    field({ name: 'xyz_class', label: 'cp.field.xyz_class', control: xyzClass }),
    field({ name: 'archived', label: 'cp.list.archived', control: archived }),
    field({ name: 'sort', label: 'cp.list.sortBy', control: sort }),
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

function row(item, catalogs) {
  const phone = mainContact(item, 'phone');
  const email = mainContact(item, 'email');
  return h(
    'tr',
    { class: item.archived ? 'cp-archived-row' : null },
    h(
      'td',
      {},
      h('a', { href: `#/counterparties/${encodeURIComponent(item.id)}`, text: item.name }),
      item.archived ? [' ', h('span', { class: 'badge badge-warn', i18n: 'cp.archived.badge' })] : null,
    ),
    h('td', {}, relationsText(item.relations)),
    h('td', { text: item.tax_id || '—' }),
    h('td', { class: 'cp-codes', text: codesText(item.external_codes) || '—' }),
    h('td', { class: 'cp-abc' }, abcBadge(item) || '—'),
    h('td', { class: 'cp-stage' }, stageBadge(item) || '—'),
    h('td', { class: 'cp-xyz' }, xyzBadge(item) || '—'),
    h('td', { class: 'cp-phone', text: phone?.value || '—' }),
    h('td', { class: 'cp-email', text: email?.value || '—' }),
    h('td', { text: groupPath(catalogs.groups, item.group) || '—' }),
    h('td', {}, userName(item.main_manager)),
  );
}

// The server searches one multi-valued criterion at a time (the search box, a manager or a category).
function oneLookupOnly(error) {
  return error instanceof api.ApiError && error.status === 422 && error.errors.some((e) => e.field === 'q');
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
