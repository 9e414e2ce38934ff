// Choosers for the interaction forms and filters: a counterparty (search over
// GET /api/v1/counterparties?q=) and a contact person (GET /api/v1/persons?q=), both searching as
// the user types (core/combobox.js); users are chosen by name with the core's user picker.
import * as api from '../../core/api.js';
import { combobox } from '../../core/combobox.js';
import { h } from '../../core/dom.js';
import { field } from '../../core/forms.js';
import { userPicker } from '../../core/user-picker.js';

const FOUND = 8;

/**
 * A search box that chooses one record: { wrapper, value() → id or null, chosen() → {id, name} or
 * null, fill({id, name} or null), onChange(fn) }. `search(q, signal)` resolves to [{ id, name, detail }].
 */
function picker({ name, labelKey, hintKey, placeholderKey, search }) {
  let chosen = null;
  const listeners = [];
  const { input: box, element } = combobox({
    placeholderKey,
    async search(q, signal) {
      const found = await search(q, signal);
      return found.map((item) => ({ id: item.id, label: item.name, detail: item.detail, name: item.name }));
    },
    onPick(option) {
      show({ id: option.id, name: option.name });
      clear.focus();
    },
  });
  const chosenText = h('span', { class: 'cp-picker-chosen ia-picker-chosen' });
  const clear = h('button', { type: 'button', class: 'button-quiet button-small', i18n: 'ia.picker.clear' });
  const current = h('div', { class: 'cp-picker-current', hidden: true }, chosenText, clear);
  const wrapper = field({ name, label: labelKey, control: box, hint: hintKey });
  // field() placed the box under its label: put the whole combobox there, the choice after it.
  box.replaceWith(element);
  element.prepend(box);
  element.after(current);

  function show(value, { notify = true } = {}) {
    chosen = value;
    current.hidden = !chosen;
    chosenText.replaceChildren(chosen ? h('strong', { text: chosen.name || chosen.id }) : '');
    if (notify) for (const fn of listeners) fn(chosen);
  }
  clear.addEventListener('click', () => {
    show(null);
    box.focus();
  });

  return {
    wrapper,
    value: () => chosen?.id ?? null,
    chosen: () => chosen,
    fill: (value) => show(value, { notify: false }),
    onChange: (fn) => listeners.push(fn),
  };
}

/** Choose a counterparty by a word of its name, its tax id, e-mail or phone. */
export function counterpartyPicker({ name = 'counterparty_id', labelKey = 'ia.field.counterparty', hintKey } = {}) {
  return picker({
    name,
    labelKey,
    hintKey: hintKey ?? 'ia.picker.counterpartyHint',
    placeholderKey: 'ia.picker.counterpartyPlaceholder',
    async search(q, signal) {
      const { data } = await api.get('/api/v1/counterparties', { query: { q, limit: FOUND }, signal });
      return data.items.map((item) => ({ id: item.id, name: item.name, detail: item.tax_id }));
    },
  });
}

/** Choose a contact person by the beginning of the name. */
export function personPicker({ name = 'contact_person_id', labelKey = 'ia.field.contact_person' } = {}) {
  return picker({
    name,
    labelKey,
    hintKey: 'ia.picker.personHint',
    placeholderKey: 'ia.picker.personPlaceholder',
    async search(q, signal) {
      const { data } = await api.get('/api/v1/persons', { query: { q, limit: FOUND }, signal });
      return data.items
        .filter((person) => !person.erased)
        .map((person) => ({
          id: person.id,
          name: person.display_name,
          detail: (person.links || []).map((l) => l.counterparty_name || l.counterparty_id).join(', '),
        }));
    },
  });
}

/** The name of a counterparty by id, or the id (for a picker filled from the address). */
export async function counterpartyNamed(id) {
  try {
    const { data } = await api.get(`/api/v1/counterparties/${encodeURIComponent(id)}`);
    return { id, name: data.name };
  } catch {
    return { id, name: id };
  }
}

/** The name of a contact person by id, or the id. */
export async function personNamed(id) {
  try {
    const { data } = await api.get(`/api/v1/persons/${encodeURIComponent(id)}`);
    return { id, name: data.display_name || id };
  } catch {
    return { id, name: id };
  }
}

/**
 * A user chosen by name (the core's user picker, the same in every feature); `anyKey` shows that
 * text while nobody is chosen (for filters). { wrapper, value() → id or '', fill(id), onChange(fn) }.
 */
export function userSelect({ name, labelKey, hintKey, anyKey = null }) {
  return userPicker({ name, labelKey, hintKey, anyKey });
}
