// Editors of a record's properties (typed custom fields) and categories, fed by the reference
// catalogs: an input per property definition by its value type, and a checkbox per category.
// Retired entries are not offered, but a record that has one still shows it. Each property's field
// is `properties.<code>` and the categories' is `categories`, as the server names them in errors.
import { h, uid } from '../../core/dom.js';
import { field, input } from '../../core/forms.js';
import * as ref from '../../core/reference-cache.js';

/**
 * An input per property definition. Returns { wrapper, all(), values(), changes(before), fill(values) }:
 * all() maps every shown property to its value or null, values() only the filled ones, changes()
 * what differs from `before` (null removes one: a PATCH merges properties).
 */
export function propertyEditor(definitions, { emptyKey }) {
  const inputs = new Map();
  const list = h('div', { class: 'cp-properties' });
  const empty = h('p', { class: 'muted', i18n: emptyKey });
  const wrapper = h('div', { class: 'cp-property-list' }, list, empty);

  for (const definition of definitions) {
    const type = definition.attributes?.value_type ?? 'string';
    const control = controlFor(type, definition.attributes?.choices || []);
    const wrapperField = field({ name: `properties.${definition.code}`, label: 'cp.property.label', control });
    const label = wrapperField.querySelector('label span');
    delete label.dataset.i18n;
    label.textContent = definition.name;
    wrapperField.hidden = Boolean(definition.retired);
    list.append(wrapperField);
    inputs.set(definition.code, { control, type });
  }
  empty.hidden = definitions.some((d) => !d.retired);

  const read = ({ control, type }) => {
    const raw = control.value.trim();
    if (raw === '') return null;
    if (type === 'boolean') return raw === 'true';
    if (type === 'number') {
      const number = Number(raw.replace(',', '.'));
      return Number.isFinite(number) ? number : raw; // the server names what is wrong
    }
    return raw;
  };

  const all = () => Object.fromEntries([...inputs].map(([code, p]) => [code, read(p)]));
  return {
    wrapper,
    all,
    values: () => Object.fromEntries(Object.entries(all()).filter(([, v]) => v !== null)),
    changes(before = {}) {
      return Object.fromEntries(Object.entries(all()).filter(([code, v]) => v !== (before[code] ?? null)));
    },
    fill(values) {
      for (const [code, { control, type }] of inputs) {
        const value = values[code];
        if (value === undefined || value === null) {
          control.value = '';
          continue;
        }
        if (type === 'choice' && ![...control.options].some((o) => o.value === value)) {
          control.append(h('option', { value, text: value }));
        }
        control.value = type === 'boolean' ? String(Boolean(value)) : String(value);
        control.closest('.field').hidden = false;
      }
    },
  };
}

function controlFor(type, choices) {
  switch (type) {
    case 'boolean':
      return h(
        'select',
        {},
        h('option', { value: '', text: '—' }),
        h('option', { value: 'true', i18n: 'cp.yes' }),
        h('option', { value: 'false', i18n: 'cp.no' }),
      );
    case 'choice':
      return h(
        'select',
        {},
        h('option', { value: '', text: '—' }),
        choices.map((c) => h('option', { value: c, text: c })),
      );
    case 'date':
      return input({ type: 'date' });
    case 'number':
      return input({ type: 'text', inputmode: 'decimal' });
    default:
      return input({ maxlength: 1000 });
  }
}

/**
 * A checkbox per category: a multi-select that shows every choice at once.
 * Returns { wrapper, values(), fill(codes) }; fill() also shows retired or unknown codes the record has.
 */
export function categoryPicker(entries, { labelKey, emptyKey }) {
  const errorId = uid('categories-error');
  const list = h('div', { class: 'cp-checks' });
  const wrapper = h(
    'fieldset',
    { class: 'field', dataset: { field: 'categories' }, 'aria-describedby': errorId },
    h('legend', { i18n: labelKey }),
    h('p', { class: 'field-error', id: errorId, hidden: true }),
    list,
  );
  const add = (code, name, retired) => {
    const id = uid('category');
    const box = h('input', { type: 'checkbox', id, value: code, name: 'categories' });
    const row = h('div', { class: 'check', dataset: { value: code } }, box, h('label', { for: id, text: name }));
    row.hidden = Boolean(retired); // offered only when the record already has it
    list.append(row);
    return box;
  };
  const boxes = entries.map((e) => add(e.code, e.name, e.retired));
  const empty = h('p', { class: 'muted', i18n: emptyKey });
  list.append(empty);
  const refresh = () => {
    empty.hidden = boxes.some((b) => !b.closest('.check').hidden);
  };
  refresh();
  return {
    wrapper,
    values: () => boxes.filter((b) => b.checked).map((b) => b.value),
    fill(codes) {
      for (const code of codes) {
        if (!boxes.some((b) => b.value === code)) boxes.push(add(code, ref.nameOf(entries, code), false));
      }
      for (const box of boxes) {
        box.checked = codes.includes(box.value);
        if (box.checked) box.closest('.check').hidden = false;
      }
      refresh();
    },
  };
}
