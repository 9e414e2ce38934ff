// The contact information tab: every entry with its kind, the value (a link where it can be one),
// whether it is the main one of its kind, and its comment.
import { contactValue } from '../counterparty-fields.js';
import { h } from '../../../core/dom.js';
import { nameOf } from '../../../core/reference-cache.js';
import { scrollable } from '../../../core/widgets.js';

export function render(record, env) {
  const entries = record.contact_info || [];
  if (!entries.length) return h('p', { class: 'empty', i18n: 'cp.contact.empty' });
  return scrollable(
    h(
      'table',
      { class: 'data-table cp-contact-table' },
      h('caption', { class: 'visually-hidden', i18n: 'cp.tab.contacts' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['cp.contact.kind', 'cp.contact.value', 'cp.contact.main', 'cp.contact.comment'].map((key) =>
            h('th', { scope: 'col', i18n: key }),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        entries.map((entry) =>
          h(
            'tr',
            { dataset: { kind: entry.kind, type: entry.type } },
            h('td', { text: nameOf(env.catalogs['contact-kinds'], entry.kind) }),
            h('td', { class: 'cp-contact-value' }, contactValue(entry)),
            h('td', {}, entry.main ? h('span', { class: 'badge', i18n: 'cp.contact.mainBadge' }) : ''),
            h('td', { text: entry.comment || '' }),
          ),
        ),
      ),
    ),
  );
}
