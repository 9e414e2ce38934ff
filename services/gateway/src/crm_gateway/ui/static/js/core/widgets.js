// Small pieces every page uses: headings, loading and empty states, error boxes.
import { ApiError, ConnectionLost } from './api.js';
import { h } from './dom.js';
import { has } from './i18n.js';

/** The page heading; app.js moves focus to it after navigation, for screen readers. */
export function heading(key, args) {
  return h('h1', { i18n: key, i18nArgs: args, tabindex: '-1' });
}

/** A polite live region saying the page is loading. */
export function loading(key = 'common.loading') {
  return h(
    'p',
    { class: 'loading', role: 'status' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }),
    h('span', { i18n: key }),
  );
}

/** A message box for a failed request, with the server's explanation when it gave one. */
export function errorBox(error) {
  const box = h('div', { class: 'alert alert-error', role: 'alert' });
  box.append(h('p', { i18n: errorKey(error), i18nArgs: { status: error?.status ?? '' } }));
  const detail = error instanceof ApiError ? error.problem.detail : null;
  if (detail) box.append(h('p', { class: 'alert-detail', text: detail }));
  return box;
}

/** The text key for an error: one per common HTTP status, else a generic one. */
export function errorKey(error) {
  if (error instanceof ConnectionLost) return 'error.connection';
  if (error instanceof ApiError) {
    const key = `error.http.${error.status}`;
    return has(key) ? key : 'error.http.other';
  }
  return 'error.unexpected';
}

/** A "not found" page body, used for unknown routes and for records the user cannot see. */
export function notFound(messageKey = 'notFound.text') {
  return h(
    'section',
    { class: 'not-found' },
    heading('notFound.title'),
    h('p', { i18n: messageKey }),
    h('p', {}, h('a', { href: '#/', i18n: 'notFound.back' })),
  );
}

/** A link styled as a button. */
export function linkButton(href, key, className = 'button') {
  return h('a', { class: className, href, i18n: key });
}

/** Wrap a table so that on a narrow screen it scrolls sideways instead of widening the page. */
export function scrollable(table) {
  return h('div', { class: 'table-scroll' }, table);
}
