// Caller id, "Who is calling": a phone number typed or pasted as it came in (spaces, dashes, +359 or
// 0…) answers with the counterparties and contact persons the user may see that have it, each a link
// to its card, or a clear "no match" with a button that registers a new counterparty with the number
// filled in. One page (#/caller-id?number=…, the number kept in the address) and a ☎ button in the
// header (the 'header/tools' slot) whose box opens it from any page. GET /api/v1/lookup/phone answers within the
// user's access groups, so a record in a group they cannot see never shows.
import * as api from '../../core/api.js';
import { h, uid } from '../../core/dom.js';
import { clearErrors, field, formAlert, input, showErrors } from '../../core/forms.js';
import { href, navigate, replaceQuery } from '../../core/router.js';
import * as session from '../../core/session.js';
import { errorBox, heading, loading } from '../../core/widgets.js';

export const path = '/caller-id';
export const titleKey = 'callerId.title';
export const permission = 'counterparty:read';

const API = '/api/v1/lookup/phone';
const TYPING_DELAY_MS = 300;
const MIN_DIGITS = 3; // fewer is not a number yet: no request while the first digits are typed

const digits = (text) => text.replace(/\D/g, '').length;

export function render(ctx) {
  const number = input({
    type: 'tel',
    inputmode: 'tel',
    autocomplete: 'off',
    maxlength: 40,
    value: ctx.query.get('number') ?? '',
    i18nAttrs: { placeholder: 'callerId.placeholder' },
  });
  const results = h('div', { class: 'caller-id-results', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'caller-id-form', role: 'search', on: { submit: (event) => (event.preventDefault(), look()) } },
    formAlert(),
    field({ name: 'number', label: 'callerId.number', control: number, hint: 'callerId.hint' }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button primary', i18n: 'callerId.find' })),
  );
  let typing = null;
  let asked = 0;
  let inFlight = null;

  async function look() {
    clearTimeout(typing);
    const typed = number.value.trim();
    const mine = ++asked;
    inFlight?.abort();
    if (ctx.signal.aborted) return;
    replaceQuery(path, { number: typed });
    if (digits(typed) < MIN_DIGITS) {
      results.replaceChildren();
      return;
    }
    inFlight = new AbortController();
    results.replaceChildren(loading());
    try {
      const { data } = await api.get(API, { query: { number: typed }, signal: inFlight.signal });
      if (mine !== asked) return;
      clearErrors(form);
      results.replaceChildren(answer(data));
    } catch (error) {
      if (error.name === 'AbortError' || mine !== asked) return;
      results.replaceChildren();
      if (error instanceof api.ApiError && error.status === 422) showErrors(form, error);
      else results.replaceChildren(errorBox(error));
    }
  }

  ctx.signal.addEventListener('abort', () => inFlight?.abort());
  number.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(look, TYPING_DELAY_MS);
  });
  if (number.value.trim()) look();
  setTimeout(() => number.focus(), 0);

  return h(
    'section',
    { class: 'caller-id' },
    h('div', { class: 'page-head' }, heading('callerId.title')),
    h('p', { i18n: 'callerId.intro' }),
    form,
    results,
  );
}

/** What the lookup found: counterparties, then persons with the counterparties they work for. */
function answer(data) {
  const found = data.counterparties.length + data.persons.length;
  if (!found) return noMatch(data.number);
  return h(
    'div',
    { class: 'caller-id-found', dataset: { number: data.number } },
    h('p', { class: 'muted' }, h('span', { i18n: 'callerId.foundFor', i18nArgs: { number: data.number } })),
    data.counterparties.length
      ? h(
          'section',
          { class: 'panel caller-id-part', dataset: { part: 'counterparties' } },
          h('h2', { i18n: 'callerId.counterparties' }),
          h(
            'ul',
            { class: 'caller-id-list' },
            data.counterparties.map((c) =>
              h(
                'li',
                { dataset: { id: c.id } },
                h('a', { href: `#/counterparties/${encodeURIComponent(c.id)}`, text: c.name }),
              ),
            ),
          ),
        )
      : null,
    data.persons.length
      ? h(
          'section',
          { class: 'panel caller-id-part', dataset: { part: 'persons' } },
          h('h2', { i18n: 'callerId.persons' }),
          h('ul', { class: 'caller-id-list' }, data.persons.map(personEntry)),
        )
      : null,
  );
}

function personEntry(person) {
  const works = person.links.map((link) =>
    h(
      'span',
      { class: 'caller-id-link' },
      link.position ? `${link.position}, ` : null,
      h('a', {
        href: `#/counterparties/${encodeURIComponent(link.counterparty_id)}`,
        text: link.counterparty_name ?? link.counterparty_id,
      }),
    ),
  );
  return h(
    'li',
    { dataset: { id: person.id } },
    h('a', { href: `#/persons/${encodeURIComponent(person.id)}`, text: person.display_name }),
    works.length ? h('span', { class: 'muted' }, ' — ', works.flatMap((w, i) => (i ? ['; ', w] : [w]))) : null,
  );
}

/** Nobody the user may see has the number: say so, and offer to register the caller. */
function noMatch(number) {
  const canRegister = session.can('counterparty:write');
  return h(
    'div',
    { class: 'empty caller-id-none', role: 'status' },
    h('p', { i18n: 'callerId.none', i18nArgs: { number } }),
    canRegister
      ? h(
          'p',
          {},
          h('a', {
            class: 'button primary',
            href: href('/counterparties/new', { phone: number }),
            i18n: 'callerId.register',
          }),
        )
      : h('p', { class: 'muted', i18n: 'callerId.askToRegister' }),
  );
}

/**
 * The header's tool: a small button (the header row has little room) that opens a box under it;
 * type or paste a number, Enter opens the caller-id page with its answer. Escape, or the focus
 * leaving the tool, closes the box.
 */
export function headerBox() {
  const popupId = uid('caller-id-popup');
  const button = h('button', {
    type: 'button',
    class: 'caller-id-toggle',
    'aria-expanded': 'false',
    'aria-controls': popupId,
    i18nAttrs: { 'aria-label': 'callerId.title', title: 'callerId.title' },
    text: '\u260e',
  });
  const box = h('input', {
    type: 'tel',
    inputmode: 'tel',
    autocomplete: 'off',
    maxlength: 40,
    class: 'caller-id-box-input',
    i18nAttrs: { placeholder: 'callerId.headerPlaceholder', 'aria-label': 'callerId.headerLabel' },
  });
  const popup = h(
    'form',
    {
      id: popupId,
      class: 'caller-id-popup',
      role: 'search',
      hidden: true,
      i18nAttrs: { 'aria-label': 'callerId.title' },
      on: {
        submit(event) {
          event.preventDefault();
          const typed = box.value.trim();
          if (!typed) return;
          box.value = '';
          open(false);
          navigate(`${path}?${new URLSearchParams({ number: typed })}`);
        },
      },
    },
    box,
    h('button', { type: 'submit', class: 'button primary button-small', i18n: 'callerId.find' }),
  );
  const element = h('div', { class: 'caller-id-box' }, button, popup);

  function open(isOpen) {
    popup.hidden = !isOpen;
    button.setAttribute('aria-expanded', String(isOpen));
    if (isOpen) box.focus();
  }

  button.addEventListener('click', () => open(popup.hidden));
  element.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !popup.hidden) {
      event.stopPropagation();
      open(false);
      button.focus();
    }
  });
  // Focus leaving the tool (a click elsewhere, Tab on) closes the box.
  element.addEventListener('focusout', (event) => {
    if (!popup.hidden && !element.contains(event.relatedTarget)) open(false);
  });
  return element;
}
