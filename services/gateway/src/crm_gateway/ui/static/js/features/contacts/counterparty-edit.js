// Edit a counterparty. The PATCH carries If-Match with the ETag loaded with the form; when someone
// else changed the record meanwhile (412, or 409 for a change at the same moment) the page says so
// and offers Reload, which loads the current version into the form.
import * as api from '../../core/api.js';
import { API } from './counterparty-fields.js';
import { counterpartyForm } from './counterparty-form.js';
import { h } from '../../core/dom.js';
import { busy, clearErrors, showFormErrors } from '../../core/forms.js';
import { heading } from '../../core/widgets.js';

export const path = '/counterparties/:id/edit';
export const titleKey = 'counterpartyEdit.title';
export const permission = 'counterparty:write';

export async function render(ctx) {
  const url = `${API}/${encodeURIComponent(ctx.params.id)}`;
  const cardHref = `#/counterparties/${encodeURIComponent(ctx.params.id)}`;
  const { form, values, allProperties, fill } = await counterpartyForm({
    submitKey: 'form.save',
    cancelHref: cardHref,
    selfId: ctx.params.id,
  });
  const conflict = h('div', { class: 'alert alert-warning conflict', role: 'alert', hidden: true });
  const archivedNote = h(
    'div',
    { class: 'alert alert-warning', role: 'status', hidden: true },
    h('p', { i18n: 'cp.archived.editNote' }),
  );
  const versionNote = h('p', { class: 'muted' });

  let loaded = null; // the record as loaded: the base for "what changed" and for If-Match
  let etag = null;

  async function load() {
    const answer = await api.get(url, { signal: ctx.signal });
    loaded = answer.data;
    etag = answer.etag ?? `"${loaded.version}"`;
    fill(loaded);
    ctx.setTitle(loaded.name);
    archivedNote.hidden = !loaded.archived;
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
    const changes = changed(loaded, values(), allProperties());
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
      // A 409 naming a field is a rule (a tax id or an external code another counterparty has): shown
      // at the field. Without one it is a change made at the same moment.
      const refused = error.status === 409 && (error.errors || []).some((e) => e.field);
      if (error.status === 412 || (error.status === 409 && !refused)) {
        conflict.hidden = false;
        reload.focus();
      } else if (error.status !== 401) {
        showFormErrors(form, error, 'counterpartyEdit.failed');
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
    archivedNote,
    conflict,
    form,
  );
}

// Only the fields the user changed are sent: a PATCH that names a field sets it. Properties are
// merged by the server, so only the changed ones go, null removing one.
function changed(before, after, properties) {
  const comparable = {
    ...before,
    managers: (before.managers || []).filter((m) => m !== before.main_manager),
    contact_info: (before.contact_info || []).map(({ kind, value, main, comment }) => ({
      kind,
      value,
      main,
      comment: comment ?? '',
    })),
  };
  // Lists the form shows in its own order (checkboxes by name) change only when their members do.
  const unordered = new Set(['activity_kinds', 'categories', 'managers']);
  const same = (name, a, b) =>
    unordered.has(name) && Array.isArray(a) && Array.isArray(b)
      ? JSON.stringify([...a].sort()) === JSON.stringify([...b].sort())
      : JSON.stringify(a) === JSON.stringify(b);
  const changes = {};
  for (const [name, value] of Object.entries(after)) {
    if (name === 'properties') continue;
    if (name === 'access_group' && value === null) continue;
    if (!same(name, value, comparable[name] ?? null)) changes[name] = value;
  }
  const propertyChanges = {};
  for (const [code, value] of Object.entries(properties)) {
    if (JSON.stringify(value) !== JSON.stringify(before.properties?.[code] ?? null)) propertyChanges[code] = value;
  }
  if (Object.keys(propertyChanges).length) changes.properties = propertyChanges;
  return changes;
}
