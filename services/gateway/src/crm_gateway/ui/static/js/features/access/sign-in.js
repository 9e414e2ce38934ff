// Sign-in: username and password → POST /api/v1/session. Wrong credentials (401), a locked
// account (423) and too many attempts (429, with Retry-After) each get their own message.
import { ApiError, ConnectionLost } from '../../core/api.js';
import { h } from '../../core/dom.js';
import { busy, field, formAlert, input } from '../../core/forms.js';
import * as session from '../../core/session.js';
import { errorKey, heading } from '../../core/widgets.js';

export const path = '/sign-in';
export const titleKey = 'signIn.title';
export const anonymous = true;

const STATUS_KEYS = { 401: 'signIn.wrong', 423: 'signIn.locked', 429: 'signIn.tooMany' };

export function render(ctx) {
  const next = ctx.query.get('next');
  if (session.isSignedIn()) {
    ctx.navigate(next || '/counterparties', { replace: true });
    return h('div');
  }

  const username = input({ autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = input({ type: 'password', autocomplete: 'current-password', required: true });
  const alert = formAlert();
  const form = h(
    'form',
    { class: 'form narrow-form', novalidate: true, 'aria-labelledby': 'sign-in-heading' },
    alert,
    field({ name: 'username', label: 'signIn.username', control: username, required: true }),
    field({ name: 'password', label: 'signIn.password', control: password, required: true }),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: 'signIn.submit' }),
    ),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    alert.replaceChildren();
    if (!username.value.trim() || !password.value) {
      alert.append(h('p', { i18n: 'signIn.missing' }));
      (username.value.trim() ? password : username).focus();
      return;
    }
    busy(form, true);
    try {
      const user = await session.signIn(username.value.trim(), password.value);
      await ctx.afterSignIn(user, next);
    } catch (error) {
      busy(form, false);
      password.value = '';
      alert.append(h('p', { i18n: messageKey(error), i18nArgs: { seconds: retryAfter(error) } }));
      alert.focus();
    }
  });

  const title = heading('signIn.title');
  title.id = 'sign-in-heading';
  setTimeout(() => username.focus(), 0);
  const sso = h('div', { class: 'form-actions' });
  offerSingleSignOn(sso);
  return h('section', { class: 'narrow' }, title, form, sso);
}

// Single sign-on is offered only when the gateway has an OIDC provider configured.
async function offerSingleSignOn(place) {
  try {
    const response = await fetch('/api/v1/auth/providers', { credentials: 'same-origin' });
    const providers = response.ok ? await response.json() : null;
    if (providers?.oidc && providers.oidc_login_url) {
      place.append(h('a', { class: 'button', href: providers.oidc_login_url, i18n: 'signIn.sso' }));
    }
  } catch {
    // No answer: password sign-in still works, and the connection banner reports the outage.
  }
}

function messageKey(error) {
  if (error instanceof ApiError && STATUS_KEYS[error.status]) {
    return error.status === 429 && retryAfter(error) ? 'signIn.tooManyWait' : STATUS_KEYS[error.status];
  }
  if (error instanceof ConnectionLost) return 'error.connection';
  return errorKey(error);
}

function retryAfter(error) {
  const value = error instanceof ApiError ? Number(error.headers?.get('Retry-After')) : NaN;
  return Number.isFinite(value) && value > 0 ? value : '';
}
