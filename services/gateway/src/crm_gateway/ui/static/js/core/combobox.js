// A search box that offers matches as the user types: no Enter needed, the list appears after a
// short pause (TYPING_DELAY_MS). Keyboard: ArrowDown / ArrowUp move through the options, Enter
// picks the highlighted one, Escape closes the list. Built as an ARIA combobox with a listbox.
// Pickers of users (core/user-picker.js), counterparties and contact persons are built on it.
import { h, uid } from './dom.js';
import { input } from './forms.js';

export const TYPING_DELAY_MS = 250;

/**
 * { input, element, close() }. `search(q, signal)` resolves to options [{ id, label, detail? }];
 * `onPick(option)` is called with the one chosen (the box is then emptied and the list closed).
 */
export function combobox({ search, onPick, placeholderKey }) {
  const listId = uid('options');
  const box = input({
    type: 'search',
    role: 'combobox',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
    i18nAttrs: placeholderKey ? { placeholder: placeholderKey } : undefined,
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'combobox-options', hidden: true });
  const status = h('p', { class: 'muted combobox-status', 'aria-live': 'polite' });
  let options = [];
  let active = -1;
  let typing = null;
  let asked = 0;
  let inFlight = null;

  function close() {
    list.hidden = true;
    box.setAttribute('aria-expanded', 'false');
    box.removeAttribute('aria-activedescendant');
    active = -1;
  }

  function highlight(index) {
    const items = [...list.children];
    active = items.length ? (index + items.length) % items.length : -1;
    items.forEach((item, i) => item.setAttribute('aria-selected', String(i === active)));
    if (active >= 0) {
      box.setAttribute('aria-activedescendant', items[active].id);
      items[active].scrollIntoView?.({ block: 'nearest' });
    }
  }

  function pick(option) {
    box.value = '';
    close();
    status.replaceChildren();
    onPick(option);
  }

  function show(found) {
    options = found;
    list.replaceChildren(
      ...found.map((option, i) =>
        h(
          'li',
          {
            id: `${listId}-${i}`,
            role: 'option',
            'aria-selected': 'false',
            class: 'combobox-option',
            dataset: { id: option.id },
            // mousedown, not click: the box keeps the focus, so the list is not closed by blur first
            on: { mousedown: (event) => (event.preventDefault(), pick(option)) },
          },
          h('span', { text: option.label }),
          option.detail ? h('span', { class: 'muted', text: ` (${option.detail})` }) : null,
        ),
      ),
    );
    list.hidden = found.length === 0;
    box.setAttribute('aria-expanded', String(found.length > 0));
    active = -1;
    status.replaceChildren(
      h('span', { i18n: found.length ? 'picker.found' : 'picker.none', i18nArgs: { count: found.length } }),
    );
  }

  async function find() {
    const q = box.value.trim();
    const mine = ++asked;
    inFlight?.abort();
    if (!q) {
      close();
      status.replaceChildren();
      return;
    }
    inFlight = new AbortController();
    try {
      const found = await search(q, inFlight.signal);
      if (mine === asked) show(found);
    } catch (error) {
      if (error.name !== 'AbortError' && mine === asked) status.replaceChildren(h('span', { text: error.message }));
    }
  }

  box.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(find, TYPING_DELAY_MS);
  });
  box.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (list.hidden) return;
      event.preventDefault();
      highlight(active + (event.key === 'ArrowDown' ? 1 : -1));
    } else if (event.key === 'Enter') {
      // Never submit the surrounding form from the search box; pick the highlighted option.
      event.preventDefault();
      if (!list.hidden && active >= 0) pick(options[active]);
      else if (!list.hidden && options.length === 1) pick(options[0]);
    } else if (event.key === 'Escape' && !list.hidden) {
      event.preventDefault();
      close();
    }
  });
  box.addEventListener('blur', () => setTimeout(close, 150));

  const element = h('div', { class: 'combobox' }, box, list, status);
  return { input: box, element, close };
}
