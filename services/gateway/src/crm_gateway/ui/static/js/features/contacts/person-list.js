// The contact persons of one counterparty, for its card: renderPersonsOf(counterpartyId, container)
// fills `container` with a table of the persons linked to it (name, position, role, phone, e-mail),
// "more" pagination, and, for those who may change records, a link to add a person to it.
import * as api from '../../core/api.js';
import { contactValue } from './counterparty-fields.js';
import { h } from '../../core/dom.js';
import { COUNTERPARTIES, mainOf, personLink } from './person-fields.js';
import * as ref from '../../core/reference-cache.js';
import * as session from '../../core/session.js';
import { errorBox, linkButton, loading, scrollable } from '../../core/widgets.js';

const PAGE_SIZE = 50;

/** Fill `container` with the persons linked to the counterparty; resolves when the first page shows. */
export async function renderPersonsOf(counterpartyId, container) {
  const url = `${COUNTERPARTIES}/${encodeURIComponent(counterpartyId)}/persons`;
  const status = h('div', { class: 'list-status', 'aria-live': 'polite' }, loading());
  const rows = h('tbody');
  const table = h(
    'table',
    { class: 'data-table person-links-table', hidden: true },
    h('caption', { class: 'visually-hidden', i18n: 'persons.ofCounterparty' }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['person.field.name', 'person.field.position', 'person.field.role', 'person.contact.phone', 'person.contact.email'].map(
          (key) => h('th', { scope: 'col', i18n: key }),
        ),
      ),
    ),
    rows,
  );
  const more = h('button', { type: 'button', class: 'button', i18n: 'persons.more', hidden: true });
  const actions = session.can('counterparty:write')
    ? h(
        'div',
        { class: 'form-actions' },
        linkButton(`#/persons/new?counterparty=${encodeURIComponent(counterpartyId)}`, 'persons.addToCounterparty'),
      )
    : null;
  container.replaceChildren(actions ?? '', status, scrollable(table), h('div', { class: 'list-more' }, more));

  const roles = await ref.catalog('person-roles').catch(() => []);
  let cursor = null;

  async function load() {
    more.disabled = true;
    try {
      const { data } = await api.get(url, { query: { limit: PAGE_SIZE, cursor } });
      rows.append(
        ...data.items.map((item) =>
          h(
            'tr',
            { dataset: { person: item.person.id } },
            h('td', {}, personLink(item.person)),
            h('td', { text: item.position || '—' }),
            h('td', { text: item.role ? ref.nameOf(roles, item.role) : '—' }),
            h('td', {}, contactCell(item.person, 'phone')),
            h('td', {}, contactCell(item.person, 'email')),
          ),
        ),
      );
      cursor = data.next_cursor;
      more.hidden = !cursor;
      table.hidden = rows.children.length === 0;
      status.replaceChildren(rows.children.length ? '' : h('p', { class: 'empty', i18n: 'persons.noneLinked' }));
    } catch (error) {
      status.replaceChildren(errorBox(error));
    } finally {
      more.disabled = false;
    }
  }

  more.addEventListener('click', load);
  await load();
}

/** The main contact of a type as a link, or a dash. */
export function contactCell(person, type) {
  const entry = mainOf(person, type);
  return entry ? contactValue(entry) : '—';
}
