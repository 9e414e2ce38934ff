// The one way to choose a user: type a part of the name (or username) and pick from what the
// directory offers (core/combobox.js over core/people.js). One user, or several (`multiple`),
// shown by name with a button to remove each. Every feature uses this one.
import { combobox } from './combobox.js';
import { h } from './dom.js';
import { field } from './forms.js';
import * as people from './people.js';

/**
 * { wrapper, input, value() → id ('' for none) or [ids] when `multiple`, fill(id | [ids]),
 *   onChange(fn) }. `anyKey`: the text shown while nobody is chosen (for filters).
 */
export function userPicker({ name, labelKey, hintKey, multiple = false, anyKey = null, required = false }) {
  let chosen = [];
  const listeners = [];
  const chips = h('ul', { class: 'picker-chosen' });
  const { input, element } = combobox({
    placeholderKey: 'picker.userPlaceholder',
    async search(q, signal) {
      const found = await people.search(q, { limit: 10, signal });
      return found
        .filter((u) => !chosen.includes(u.id))
        .map((u) => ({ id: u.id, label: people.displayName(u, u.id), detail: u.username }));
    },
    onPick(option) {
      set(multiple ? [...chosen, option.id] : [option.id]);
    },
  });
  const wrapper = field({ name, label: labelKey, control: input, hint: hintKey, required });
  // field() took the box out of the combobox to place it under its label: put the combobox there.
  input.closest('.field').classList.add('user-picker');
  input.replaceWith(element);
  element.prepend(input);
  element.before(chips);

  function render() {
    chips.replaceChildren(
      ...chosen.map((id) =>
        h(
          'li',
          { class: 'picker-chip', dataset: { id } },
          people.userName(id),
          h('button', {
            type: 'button',
            class: 'button-quiet button-small picker-remove',
            text: '×',
            i18nAttrs: { 'aria-label': 'picker.remove', title: 'picker.remove' },
            on: { click: () => (set(chosen.filter((c) => c !== id)), input.focus()) },
          }),
        ),
      ),
    );
    if (!chosen.length && anyKey) chips.append(h('li', { class: 'muted picker-any', i18n: anyKey }));
  }

  function set(ids, { notify = true } = {}) {
    chosen = [...new Set(ids.filter(Boolean))];
    if (!multiple) chosen = chosen.slice(-1);
    render();
    if (notify) for (const fn of listeners) fn(value());
  }

  function value() {
    return multiple ? [...chosen] : chosen[0] ?? '';
  }

  render();
  return {
    wrapper,
    input,
    value,
    fill: (ids) => set(Array.isArray(ids) ? ids : [ids], { notify: false }),
    onChange: (fn) => listeners.push(fn),
  };
}
