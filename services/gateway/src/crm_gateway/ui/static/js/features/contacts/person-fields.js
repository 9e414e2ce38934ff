// What the contact person pages share: the API paths, genders, and how a person's name, links and
// erased state are shown.
import { h } from '../../core/dom.js';

export const API = '/api/v1/persons';
export const COUNTERPARTIES = '/api/v1/counterparties';
export const GENDERS = ['unspecified', 'female', 'male'];
/** The reference catalogs the person pages read. */
export const CATALOGS = ['contact-kinds', 'person-roles', 'properties', 'categories'];

/** The href of a person's card. */
export function personHref(id) {
  return `#/persons/${encodeURIComponent(id)}`;
}

/** A person's name as a node: "Erased person" once the personal data is gone. */
export function personName(person) {
  if (person.erased) return h('span', { class: 'muted', i18n: 'person.erasedName' });
  return h('span', { text: person.display_name || '—' });
}

/** A link to a person's card with its name. */
export function personLink(person) {
  return h('a', { href: personHref(person.id) }, personName(person));
}

/** The counterparties a person is linked to, as links to their cards, comma separated. */
export function linksText(person) {
  const parts = [];
  for (const [i, link] of (person.links || []).entries()) {
    if (i) parts.push(', ');
    parts.push(
      h('a', {
        href: `#/counterparties/${encodeURIComponent(link.counterparty_id)}`,
        text: link.counterparty_name || link.counterparty_id,
      }),
    );
  }
  return h('span', {}, parts.length ? parts : '—');
}

/** The main contact of a type (or the first of it), or undefined. */
export function mainOf(person, type) {
  const ofType = (person.contact_info || []).filter((c) => c.type === type && c.value);
  return ofType.find((c) => c.main) ?? ofType[0];
}

/** The gender as translated text. */
export function genderText(gender) {
  return h('span', { i18n: `person.gender.${gender || 'unspecified'}` });
}
