// Form fields with their labels and error messages, and the mapping of a problem+json answer's
// `errors: [{field, message, type}]` onto the inputs, so each message appears next to its field.
import { h, uid } from './dom.js';
import { has } from './i18n.js';

/**
 * A labelled field: { name, label (key), control (an input/select), hint (key, optional) }.
 * The control gets id, name and aria-describedby; the error slot stays empty until needed.
 */
export function field({ name, label, control, hint, hintArgs, required = false }) {
  const id = uid(name);
  const errorId = `${id}-error`;
  control.id = id;
  control.name = name;
  const described = [errorId];
  const parts = [
    h(
      'label',
      { for: id },
      h('span', { i18n: label }),
      required ? h('span', { class: 'required', 'aria-hidden': 'true', text: ' *' }) : null,
    ),
  ];
  parts.push(control);
  if (hint) {
    const hintId = `${id}-hint`;
    described.push(hintId);
    parts.push(h('p', { class: 'field-hint', id: hintId, i18n: hint, i18nArgs: hintArgs }));
  }
  if (required) control.setAttribute('aria-required', 'true');
  control.setAttribute('aria-describedby', described.join(' '));
  parts.push(h('p', { class: 'field-error', id: errorId, hidden: true }));
  return h('div', { class: 'field', dataset: { field: name } }, parts);
}

export function input(attrs = {}) {
  return h('input', { type: 'text', autocomplete: 'off', ...attrs });
}

/** A <select> from [{ value, label (key) }]. */
export function select(options, attrs = {}) {
  return h(
    'select',
    attrs,
    options.map((o) => h('option', { value: o.value, i18n: o.label })),
  );
}

/** Remove every field message and the form-level alert. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) {
    el.hidden = true;
    el.replaceChildren();
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  form.querySelector('.form-alert')?.replaceChildren();
}

/** Show one message next to the field `name`; false when the form has no such field. */
export function setFieldError(form, name, key, args, serverMessage) {
  const wrapper = form.querySelector(`.field[data-field="${CSS.escape(name)}"]`);
  if (!wrapper) return false;
  const slot = wrapper.querySelector('.field-error');
  slot.replaceChildren(key ? h('span', { i18n: key, i18nArgs: args }) : h('span', { text: serverMessage }));
  slot.hidden = false;
  wrapper.querySelector('input, select, textarea')?.setAttribute('aria-invalid', 'true');
  return true;
}

/**
 * Put the errors of an ApiError next to their fields; the rest (no field, or a field the form
 * does not show) go to the form-level alert. Focuses the first bad field. Returns how many were shown.
 */
export function showErrors(form, error, fallbackKey = 'form.failed') {
  clearErrors(form);
  const alert = form.querySelector('.form-alert');
  const leftovers = [];
  let first = null;
  for (const item of error.errors || []) {
    const name = String(item.field || '').replace(/^body\./, '');
    const key = messageKey(name, item.type, error.status);
    if (setFieldError(form, name, key, {}, item.message)) {
      first ??= name;
    } else {
      leftovers.push(key ? h('li', { i18n: key }) : h('li', { text: item.message }));
    }
  }
  if (!first && leftovers.length === 0) {
    alert.append(h('p', { i18n: fallbackKey }));
    if (error.problem?.detail) alert.append(h('p', { class: 'alert-detail', text: error.problem.detail }));
  } else if (leftovers.length) {
    alert.append(h('p', { i18n: fallbackKey }), h('ul', {}, leftovers));
  }
  if (first)
    form
      .querySelector(
        `.field[data-field="${CSS.escape(first)}"] input, .field[data-field="${CSS.escape(first)}"] select`,
      )
      ?.focus();
  else alert.focus();
}

/**
 * Show a problem+json answer's errors next to their fields. The server names a row as
 * `contact_info[1].value` (or `contact_info.1.value` for input validation): each is put at the
 * nearest field the form has. A refusal without a `type` may get one from the form:
 * `form.errorTypeOf(field)`, set by a form that can word it better (see contactErrorType).
 */
export function showFormErrors(form, error, fallbackKey) {
  const errors = (error.errors || []).map((item) => {
    const path = String(item.field || '')
      .replace(/^body\./, '')
      .replace(/\.(\d+)(?=\.|$)/g, '[$1]');
    const name = nearestField(form, path) ?? path;
    let type = item.type;
    if (!type && form.errorTypeOf) type = form.errorTypeOf(name) ?? type;
    return { ...item, field: name, type };
  });
  // In the order of the form, so the first bad field on screen gets the focus.
  const position = (item) => {
    const wrapper = form.querySelector(`.field[data-field="${CSS.escape(item.field)}"]`);
    return wrapper ? [...form.querySelectorAll('.field[data-field]')].indexOf(wrapper) : Number.MAX_SAFE_INTEGER;
  };
  errors.sort((a, b) => position(a) - position(b));
  showErrors(form, { status: error.status, problem: error.problem, errors }, fallbackKey);
}

function nearestField(form, path) {
  let name = path;
  while (name) {
    if (form.querySelector(`.field[data-field="${CSS.escape(name)}"]`)) return name;
    const cut = /^(.*)(\[\d+\]|\.[^.[\]]+)$/.exec(name);
    if (!cut) return null;
    name = cut[1];
  }
  return null;
}

// Prefer our own translated text to the server's English one. Input validation names a `type`
// ('validation.tax_id.string_pattern_mismatch', else 'validation.string_pattern_mismatch'); a rule
// that refused a command has none, so its status tells them apart ('validation.username.409':
// taken, 'validation.username.422': badly formed). No key: the server's message is shown.
function messageKey(field, type, status) {
  const keys = type ? [`validation.${field}.${type}`, `validation.${type}`] : [`validation.${field}.${status}`];
  return keys.find(has) ?? null;
}

/** The form-level alert region, placed at the top of each form. */
export function formAlert() {
  return h('div', { class: 'form-alert', role: 'alert', tabindex: '-1' });
}

/** Disable a form's controls while a request is in flight, so it is not sent twice. */
export function busy(form, isBusy) {
  form.setAttribute('aria-busy', String(isBusy));
  if (isBusy) {
    for (const el of form.querySelectorAll('button, input, select, textarea')) {
      if (el.disabled) continue; // disabled on purpose: leave it so afterwards
      el.disabled = true;
      el.dataset.busy = '';
    }
  } else {
    for (const el of form.querySelectorAll('[data-busy]')) {
      el.disabled = false;
      delete el.dataset.busy;
    }
  }
}
