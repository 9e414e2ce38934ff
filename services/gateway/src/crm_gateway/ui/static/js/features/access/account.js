// The signed-in user's own account: who they are, their language, and a password change.
import * as api from '../../core/api.js';
import { h, uid } from '../../core/dom.js';
import { busy, clearErrors, field, formAlert, input, setFieldError, showErrors } from '../../core/forms.js';
import { LANGUAGES, language, onLanguageChange } from '../../core/i18n.js';
import { heading } from '../../core/widgets.js';

export const path = '/account';
export const titleKey = 'account.title';

export async function render(ctx) {
  const { data } = await api.get('/api/v1/me', { signal: ctx.signal });
  const me = data?.user ?? data;

  const facts = [
    ['users.username', me.username ?? me.id],
    ['users.name', me.name ?? ''],
    [
      'users.roles',
      (me.roles ?? []).map((r) => h('span', { i18n: `role.${r}` })).flatMap((n, i) => (i ? [', ', n] : [n])),
    ],
    ['users.groups', (me.groups ?? []).join(', ') || '—'],
  ];

  return h(
    'section',
    {},
    heading('account.title'),
    h(
      'dl',
      { class: 'facts' },
      facts.map(([key, value]) => [h('dt', { i18n: key }), h('dd', {}, value)]),
    ),
    languageForm(ctx),
    passwordForm(),
  );
}

function languageForm(ctx) {
  const id = uid('account-language');
  const choice = h(
    'select',
    { id },
    LANGUAGES.map((lang) => h('option', { value: lang.code, lang: lang.code, text: lang.name })),
  );
  choice.value = language();
  choice.addEventListener('change', () => ctx.chooseLanguage(choice.value));
  const stop = onLanguageChange((code) => {
    choice.value = code;
  });
  ctx.signal.addEventListener('abort', stop, { once: true });
  return h(
    'div',
    { class: 'form panel' },
    h('h2', { i18n: 'account.language' }),
    h('div', { class: 'field' }, h('label', { for: id, i18n: 'header.language' }), choice),
  );
}

function passwordForm() {
  const controls = {
    current_password: input({ type: 'password', autocomplete: 'current-password', required: true }),
    new_password: input({ type: 'password', autocomplete: 'new-password', required: true }),
    repeat: input({ type: 'password', autocomplete: 'new-password', required: true }),
  };
  const done = h('p', { class: 'alert alert-success', role: 'status', hidden: true, i18n: 'account.passwordChanged' });
  const form = h(
    'form',
    { class: 'form panel', novalidate: true },
    h('h2', { i18n: 'account.changePassword' }),
    formAlert(),
    done,
    field({
      name: 'current_password',
      label: 'account.currentPassword',
      control: controls.current_password,
      required: true,
    }),
    field({ name: 'new_password', label: 'account.newPassword', control: controls.new_password, required: true }),
    field({ name: 'repeat', label: 'account.repeatPassword', control: controls.repeat, required: true }),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: 'account.changePassword' }),
    ),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    done.hidden = true;
    if (controls.new_password.value !== controls.repeat.value) {
      setFieldError(form, 'repeat', 'account.mismatch');
      controls.repeat.focus();
      return;
    }
    busy(form, true);
    try {
      await api.post('/api/v1/me/password', {
        current_password: controls.current_password.value,
        new_password: controls.new_password.value,
      });
      busy(form, false);
      form.reset();
      done.hidden = false;
    } catch (error) {
      busy(form, false);
      if (error.status !== 401) showErrors(form, error, 'account.passwordFailed');
    }
  });
  return form;
}
