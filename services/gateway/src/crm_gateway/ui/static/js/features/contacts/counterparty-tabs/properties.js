// The properties and categories tab: each property the record has (by its definition's name and
// value type), and its categories.
import { propertyText } from '../counterparty-fields.js';
import { h } from '../../../core/dom.js';
import { entryOf, nameOf } from '../../../core/reference-cache.js';

export function render(record, env) {
  const definitions = env.catalogs.properties;
  const values = Object.entries(record.properties || {});
  const categories = record.categories || [];
  return h(
    'div',
    {},
    h('h2', { i18n: 'cp.section.properties' }),
    values.length
      ? h(
          'dl',
          { class: 'facts cp-property-facts' },
          values.map(([code, value]) => [
            h('dt', { text: nameOf(definitions, code) }),
            h('dd', { dataset: { property: code } }, propertyText(entryOf(definitions, code), value)),
          ]),
        )
      : h('p', { class: 'muted', i18n: 'cp.properties.empty' }),
    h('h2', { i18n: 'cp.field.categories' }),
    categories.length
      ? h(
          'ul',
          { class: 'cp-tags' },
          categories.map((code) => h('li', { class: 'badge', text: nameOf(env.catalogs.categories, code) })),
        )
      : h('p', { class: 'muted', i18n: 'cp.categories.empty' }),
  );
}
