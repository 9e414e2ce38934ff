// Edit a counterparty. The PATCH carries If-Match with the ETag loaded with the form; when someone
// else changed the record meanwhile (412, or 409 for a change at the same moment) the page says so
// and offers Reload, which loads the current version into the form.
import * as api from '../api.js';
import { API } from '../counterparty-fields.js';
import { counterpartyForm } from '../counterparty-form.js';
import { h } from '../dom.js';
import { busy, clearErrors, showErrors } from '../forms.js';
import { heading } from '../widgets.js';

export const path = '/counterparties/:id/edit';
export const titleKey = 'counterpartyEdit.title';
export const permission = 'counterparty:write';

export async function render(ctx) {
  const url = `${API}/${encodeURIComponent(ctx.params.id)}`;
  const cardHref = `#/counterparties/${encodeURIComponent(ctx.params.id)}`;
  const { form, values, fill } = counterpartyForm({ submitKey: 'form.save', cancelHref: cardHref });
  const conflict = h('div', { class: 'alert alert-warning conflict', role: 'alert', hidden: true });
  const versionNote = h('p', { class: 'muted' });

  let loaded = null; // the record as loaded: the base for "what changed" and for If-Match
  let etag = null;

  async function load() {
    const answer = await api.get(url, { signal: ctx.signal });
    loaded = answer.data;
    etag = answer.etag ?? `"${loaded.version}"`;
    fill(loaded);
    ctx.setTitle(loaded.name);
    versionNote.replaceChildren(h('span', { i18n: 'counterpartyEdit.version', i18nArgs: { version: loaded.version } }));
  }

  const reload = h('button', { type: 'button', class: 'button', i18n: 'conflict.reload' });
  reload.addEventListener('click', async () => {
    reload.disabled = true;
    try {
      await load();
      clearErrors(form);
      conflict.hidden = true;
      form.querySelector('input')?.focus();
    } finally {
      reload.disabled = false;
    }
  });
  conflict.append(h('p', { i18n: 'conflict.text' }), h('div', { class: 'form-actions' }, reload));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const changes = changed(loaded, values());
    if (Object.keys(changes).length === 0) {
      ctx.navigate(cardHref.slice(1));
      return;
    }
    busy(form, true);
    try {
      const { position } = await api.patch(url, changes, { ifMatch: etag, idempotencyKey: api.newIdempotencyKey() });
      ctx.navigate(`${cardHref.slice(1)}${position === null ? '' : `?min_position=${position}`}`);
    } catch (error) {
      busy(form, false);
      if (error.status === 412 || error.status === 409) {
        conflict.hidden = false;
        reload.focus();
      } else if (error.status !== 401) {
        showErrors(form, error, 'counterpartyEdit.failed');
      }
    }
  });

  await load();
  return h(
    'section',
    {},
    h(
      'p',
      { class: 'breadcrumb' },
      h('a', { href: '#/counterparties', i18n: 'counterparties.title' }),
      ' / ',
      h('a', { href: cardHref, text: loaded.name }),
    ),
    heading('counterpartyEdit.title'),
    versionNote,
    conflict,
    form,
  );
}

// Only the fields the user changed are sent: a PATCH that names a field sets it.
function changed(before, after) {
  const changes = {};
  for (const [name, value] of Object.entries(after)) {
    const old = before[name] ?? null;
    if (value !== old && !(name === 'access_group' && value === null)) changes[name] = value;
  }
  return changes;
}
