// Building DOM nodes without innerHTML: every user-supplied value becomes a text node, so a
// counterparty called "<img onerror=…>" is shown as text, never run (and the CSP forbids inline
// script anyway).
import { formatDate } from './dates.js';
import { formatDateTime, formatDaysAgo, t } from './i18n.js';

/**
 * Create an element.
 *   h('button', { class: 'primary', i18n: 'form.save', on: { click: save } })
 *   h('p', {}, 'plain text', h('strong', {}, name))
 * Attributes: `class`, `text` (textContent), `i18n` / `i18nArgs` (translated text that follows
 * the language switch), `i18nAttrs` ({ placeholder: key, 'aria-label': key }), `on` (events),
 * `dataset`; `true` sets a boolean attribute, `false`/`null`/`undefined` leaves it out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name === 'i18n') el.dataset.i18n = value;
    else if (name === 'i18nArgs') el.dataset.i18nArgs = JSON.stringify(value);
    else if (name === 'i18nAttrs') el.dataset.i18nAttrs = JSON.stringify(value);
    else if (name === 'on') for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  if (el.dataset.i18n || el.dataset.i18nAttrs) translateElement(el);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A span whose text is the translation of `key`, kept current when the language changes. */
export function tr(key, args) {
  return h('span', { i18n: key, i18nArgs: args });
}

/** Apply the current language to one element marked with data-i18n / data-i18n-attrs. */
export function translateElement(el) {
  const args = el.dataset.i18nArgs ? JSON.parse(el.dataset.i18nArgs) : {};
  if (el.dataset.i18n) el.textContent = t(el.dataset.i18n, args);
  if (el.dataset.i18nAttrs) {
    for (const [attr, key] of Object.entries(JSON.parse(el.dataset.i18nAttrs))) el.setAttribute(attr, t(key, args));
  }
}

/** Re-translate a whole subtree in place: a language switch keeps what the user has typed. */
export function translateTree(root) {
  if (root.dataset && (root.dataset.i18n || root.dataset.i18nAttrs)) translateElement(root);
  for (const el of root.querySelectorAll('[data-i18n], [data-i18n-attrs]')) translateElement(el);
  for (const el of root.querySelectorAll('time[data-format]')) el.textContent = formatTime(el.dataset.format, el.dateTime);
}

function formatTime(format, value) {
  if (format === 'date') return formatDate(value);
  if (format === 'days-ago') return formatDaysAgo(value);
  return formatDateTime(value);
}

let ids = 0;
/** A document-unique id, for label/for and aria-describedby pairs. */
export function uid(prefix = 'id') {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A <time> showing `value` in the current language; translateTree re-formats it on a switch. */
export function dateTime(value) {
  return h('time', { datetime: value, dataset: { format: 'datetime' }, text: formatDateTime(value) });
}

/** A <time> showing a YYYY-MM-DD day in the current language, re-formatted on a switch. */
export function date(day) {
  return h('time', { datetime: day, dataset: { format: 'date' }, text: formatDate(day) });
}

/** A <time> saying how long ago a moment was, in days ("40 days ago", "вчера"), re-formatted on a switch. */
export function daysAgo(value) {
  return h('time', { datetime: value, dataset: { format: 'days-ago' }, text: formatDaysAgo(value) });
}
