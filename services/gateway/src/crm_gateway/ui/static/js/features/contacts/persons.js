// The contact persons the user may see: search by the beginning of the name (last name first or
// first name first, any case), a category filter (combined with the search), "more" pagination over
// the API's cursor. Both are kept in the address (#/persons?q=…&category=…) so a reload or the back
// button shows the same list.
import * as api from '../../core/api.js';
import { h } from '../../core/dom.js';
import { field, input } from '../../core/forms.js';
import { API, linksText, personLink } from './person-fields.js';
import { contactCell } from './person-list.js';
import * as ref from '../../core/reference-cache.js';
import { replaceQuery } from '../../core/router.js';
import * as session from '../../core/session.js';
import { errorBox, heading, linkButton, loading, scrollable } from '../../core/widgets.js';

export const path = '/persons';
export const titleKey = 'persons.title';
export const permission = 'counterparty:read';

const PAGE_SIZE = 50;
const TYPING_DELAY_MS = 250;

export async function render(ctx) {
  const { categories } = await ref.catalogsOrEmpty(['categories']);
  const q = input({ type: 'search', value: ctx.query.get('q') || '', i18nAttrs: { placeholder: 'persons.searchPlaceholder' } });
  const category = h(
    'select',
    {},
    h('option', { value: '', i18n: 'persons.allCategories' }),
    ref.active(ref.applying(categories, 'person')).map((e) => h('option', { value: e.code, text: e.name })),
  );
  const wantedCategory = ctx.query.get('category') || '';
  if (wantedCategory && ![...category.options].some((o) => o.value === wantedCategory)) {
    category.append(h('option', { value: wantedCategory, text: ref.nameOf(categories, wantedCategory) }));
  }
  category.value = wantedCategory;
  const status = h('div', { class: 'list-status', 'aria-live': 'polite' });
  const rows = h('tbody');
  const table = h(
    'table',
    { class: 'data-table persons-table', hidden: true },
    h('caption', { class: 'visually-hidden', i18n: 'persons.title' }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['person.field.name', 'person.field.counterparties', 'person.contact.phone', 'person.contact.email'].map((key) =>
          h('th', { scope: 'col', i18n: key }),
        ),
      ),
    ),
    rows,
  );
  const more = h('button', { type: 'button', class: 'button', i18n: 'persons.more', hidden: true });

  let cursor = null;
  let search = 0; // the latest search; answers to older ones are dropped
  let controller = null;

  async function load(append) {
    const mine = append ? search : ++search;
    controller?.abort();
    controller = new AbortController();
    const query = { q: q.value.trim(), category: category.value, limit: PAGE_SIZE, cursor: append ? cursor : null };
    if (!append) {
      replaceQuery(path, { q: query.q, category: query.category });
      status.replaceChildren(loading());
    }
    more.disabled = true;
    try {
      const signal = AbortSignal.any ? AbortSignal.any([controller.signal, ctx.signal]) : controller.signal;
      const { data } = await api.get(API, { query, signal });
      if (mine !== search) return;
      if (!append) rows.replaceChildren();
      rows.append(
        ...data.items.map((person) =>
          h(
            'tr',
            {},
            h('td', {}, personLink(person), person.private ? [' ', h('span', { class: 'badge', i18n: 'person.privateBadge' })] : null),
            h('td', {}, linksText(person)),
            h('td', {}, contactCell(person, 'phone')),
            h('td', {}, contactCell(person, 'email')),
          ),
        ),
      );
      cursor = data.next_cursor;
      more.hidden = !cursor;
      table.hidden = rows.children.length === 0;
      status.replaceChildren(
        rows.children.length
          ? h('p', { class: 'muted', i18n: 'persons.shown', i18nArgs: { count: rows.children.length } })
          : h('p', { class: 'empty', i18n: query.q || query.category ? 'persons.noMatches' : 'persons.empty' }),
      );
    } catch (error) {
      if (error.name === 'AbortError' || mine !== search) return;
      status.replaceChildren(errorBox(error));
    } finally {
      more.disabled = false;
    }
  }

  let typing = null;
  q.addEventListener('input', () => {
    clearTimeout(typing);
    search += 1;
    controller?.abort();
    more.hidden = true;
    typing = setTimeout(() => load(false), TYPING_DELAY_MS);
  });
  category.addEventListener('change', () => {
    clearTimeout(typing);
    load(false);
  });
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
    field({ name: 'q', label: 'persons.search', control: q, hint: 'persons.searchHint' }),
    field({ name: 'category', label: 'persons.category', control: category }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button', i18n: 'persons.find' })),
  );

  load(false);
  return h(
    'section',
    {},
    h(
      'div',
      { class: 'page-head' },
      heading('persons.title'),
      session.can('counterparty:write') ? linkButton('#/persons/new', 'persons.new', 'button primary') : null,
    ),
    form,
    status,
    scrollable(table),
    h('div', { class: 'list-more' }, more),
  );
}
