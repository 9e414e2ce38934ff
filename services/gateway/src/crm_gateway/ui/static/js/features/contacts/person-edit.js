// Edit a contact person. Only the fields the user changed are sent, with If-Match; when someone else
// changed the person meanwhile (412, or 409 at the same moment) the page offers Reload. Only the
// owner sees the "private" box.
import * as api from '../../core/api.js';
import { h } from '../../core/dom.js';
import { busy, clearErrors } from '../../core/forms.js';
import { API, CATALOGS, personHref } from './person-fields.js';
import { personForm } from './person-form.js';
import * as ref from '../../core/reference-cache.js';
import * as session from '../../core/session.js';
import { heading } from '../../core/widgets.js';

export const path = '/persons/:id/edit';
export const titleKey = 'personEdit.title';
export const permission = 'counterparty:write';

export async function render(ctx) {
  const id = ctx.params.id;
  const url = `${API}/${encodeURIComponent(id)}`;
  const cardHref = personHref(id);
  const [answer, catalogs] = await Promise.all([api.get(url, { signal: ctx.signal }), ref.catalogsOrEmpty(CATALOGS)]);
  let loaded = answer.data;
  let etag = answer.etag ?? `"${loaded.version}"`;
  const owner = loaded.owner === session.current()?.id;
  const { form, values, propertyChanges, fill, showErrors } = personForm({
    submitKey: 'form.save',
    cancelHref: cardHref,
    kinds: catalogs['contact-kinds'],
    properties: catalogs.properties,
    categories: catalogs.categories,
    withPrivate: owner,
  });
  const conflict = h('div', { class: 'alert alert-warning conflict', role: 'alert', hidden: true });
  const reload = h('button', { type: 'button', class: 'button', i18n: 'conflict.reload' });
  conflict.append(h('p', { i18n: 'conflict.text' }), h('div', { class: 'form-actions' }, reload));
  reload.addEventListener('click', async () => {
    reload.disabled = true;
    try {
      const fresh = await api.get(url, { signal: ctx.signal });
      loaded = fresh.data;
      etag = fresh.etag ?? `"${loaded.version}"`;
      fill(loaded);
      clearErrors(form);
      conflict.hidden = true;
      form.querySelector('input')?.focus();
    } finally {
      reload.disabled = false;
    }
  });
  fill(loaded);
  ctx.setTitle(loaded.display_name);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const changes = changed(loaded, values());
    const properties = propertyChanges(loaded.properties);
    if (Object.keys(properties).length) changes.properties = properties;
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
        showErrors(error, 'personEdit.failed');
      }
    }
  });

  return h(
    'section',
    {},
    h(
      'p',
      { class: 'breadcrumb' },
      h('a', { href: '#/persons', i18n: 'persons.title' }),
      ' / ',
      h('a', { href: cardHref, text: loaded.display_name }),
    ),
    heading('personEdit.title'),
    conflict,
    form,
  );
}

// A PATCH that names a field sets it: only what differs from the loaded person is sent (properties
// are merged by the server, so they are compared one by one apart).
function changed(before, after) {
  const changes = {};
  for (const [name, value] of Object.entries(after)) {
    if (name === 'properties') continue;
    if (name === 'categories') {
      const asSet = (codes) => JSON.stringify([...codes].sort()); // the order does not matter
      if (asSet(before.categories || []) !== asSet(value)) changes.categories = value;
    } else if (name === 'contact_info') {
      const old = (before.contact_info || []).map((c) => ({ kind: c.kind, value: c.value, main: c.main, comment: c.comment || '' }));
      if (JSON.stringify(old) !== JSON.stringify(value)) changes.contact_info = value;
    } else if (value !== (before[name] ?? null)) {
      changes[name] = value;
    }
  }
  return changes;
}
