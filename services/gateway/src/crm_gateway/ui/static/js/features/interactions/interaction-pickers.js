// Choosers for the interaction forms and filters: a counterparty (search over
// GET /api/v1/counterparties?q=), a contact person (GET /api/v1/persons?q=) and a user (the signed-in
// user, every user for administrators, or a user id typed in).
import * as api from '../../core/api.js';
import { h, uid } from '../../core/dom.js';
import { field, input } from '../../core/forms.js';
import { users } from './interaction-fields.js';
import * as session from '../../core/session.js';

const TYPING_DELAY_MS = 250;
const FOUND = 8;

/**
 * A search box that chooses one record: { wrapper, value() → id or null, chosen() → {id, name} or
 * null, fill({id, name} or null), onChange(fn) }. `search(q)` resolves to [{ id, name, detail }].
 */
function picker({ name, labelKey, hintKey, placeholderKey, search }) {
  let chosen = null;
  const listeners = [];
  const box = input({ type: 'search', i18nAttrs: { placeholder: placeholderKey } });
  const results = h('ul', { class: 'cp-picker-results ia-picker-results', hidden: true });
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  const chosenText = h('span', { class: 'cp-picker-chosen ia-picker-chosen' });
  const clear = h('button', { type: 'button', class: 'button-quiet button-small', i18n: 'ia.picker.clear' });
  const current = h('div', { class: 'cp-picker-current', hidden: true }, chosenText, clear);
  const wrapper = field({ name, label: labelKey, control: box, hint: hintKey });
  box.after(current, results, status);

  function show(value, { notify = true } = {}) {
    chosen = value;
    current.hidden = !chosen;
    chosenText.replaceChildren(chosen ? h('strong', { text: chosen.name || chosen.id }) : '');
    if (notify) for (const fn of listeners) fn(chosen);
  }

  let typing = null;
  let searchNumber = 0;
  async function find() {
    const q = box.value.trim();
    const mine = ++searchNumber;
    if (!q) {
      results.hidden = true;
      status.replaceChildren();
      return;
    }
    try {
      const items = await search(q);
      if (mine !== searchNumber) return;
      results.replaceChildren(
        ...items.map((item) =>
          h(
            'li',
            {},
            h('button', {
              type: 'button',
              class: 'button-quiet',
              text: item.detail ? `${item.name} (${item.detail})` : item.name,
              on: {
                click: () => {
                  show({ id: item.id, name: item.name });
                  box.value = '';
                  results.hidden = true;
                  status.replaceChildren();
                  clear.focus();
                },
              },
            }),
          ),
        ),
      );
      results.hidden = items.length === 0;
      const key = items.length ? 'ia.picker.found' : 'ia.picker.none';
      status.replaceChildren(h('span', { i18n: key, i18nArgs: { count: items.length } }));
    } catch (error) {
      if (mine === searchNumber) status.replaceChildren(h('span', { text: error.message }));
    }
  }
  box.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(find, TYPING_DELAY_MS);
  });
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault(); // search, do not submit the whole form
      clearTimeout(typing);
      find();
    }
  });
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
    async search(q) {
      const { data } = await api.get('/api/v1/counterparties', { query: { q, limit: FOUND } });
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
    async search(q) {
      const { data } = await api.get('/api/v1/persons', { query: { q, limit: FOUND } });
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
 * A user chooser: a select of the users one may look up ("me" first; every user for
 * administrators), plus "another user" with a box for the user id. `anyKey` adds an "anyone"
 * option with the empty value (for filters). { wrapper, value() → id or '', fill(id), control }.
 */
export async function userSelect({ name, labelKey, hintKey, anyKey = null }) {
  const known = await users();
  const me = session.current();
  const OTHER = '*other*';
  const select = h('select', {});
  if (anyKey) select.append(h('option', { value: '', i18n: anyKey }));
  if (me?.id) select.append(h('option', { value: me.id, i18n: 'ia.user.me', i18nArgs: { name: me.name || me.username } }));
  const others = [...known.values()]
    .filter((user) => user.id !== me?.id)
    .sort((a, b) => (a.name || a.username).localeCompare(b.name || b.username));
  for (const user of others) {
    select.append(h('option', { value: user.id, text: user.name ? `${user.name} (${user.username})` : user.username }));
  }
  select.append(h('option', { value: OTHER, i18n: 'ia.user.other' }));
  const typedId = uid(`${name}-id`);
  const typed = input({ id: typedId, maxlength: 100, hidden: true, i18nAttrs: { 'aria-label': 'ia.user.id', placeholder: 'ia.user.id' } });
  const wrapper = field({ name, label: labelKey, control: select, hint: hintKey });
  select.after(typed);
  select.addEventListener('change', () => {
    typed.hidden = select.value !== OTHER;
    if (!typed.hidden) typed.focus();
  });

  function fill(id) {
    if (!id) {
      select.value = anyKey ? '' : me?.id ?? OTHER;
    } else if ([...select.options].some((o) => o.value === id)) {
      select.value = id;
    } else {
      select.value = OTHER;
      typed.value = id;
    }
    typed.hidden = select.value !== OTHER;
  }
  fill(null);
  return {
    wrapper,
    control: select,
    typed,
    value: () => (select.value === OTHER ? typed.value.trim() : select.value),
    fill,
  };
}
