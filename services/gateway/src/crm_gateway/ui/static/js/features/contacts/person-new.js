// Register a contact person (the user becomes its owner). Opened as #/persons/new?counterparty=<id>
// (from a counterparty's card) it also links the person to that counterparty, with a position and
// a role. After the 201 the card opens with ?min_position= so it shows the new person at once.
import * as api from '../../core/api.js';
import { h } from '../../core/dom.js';
import { busy, clearErrors, field, input } from '../../core/forms.js';
import { API, CATALOGS, COUNTERPARTIES } from './person-fields.js';
import { personForm } from './person-form.js';
import * as ref from '../../core/reference-cache.js';
import { heading } from '../../core/widgets.js';

export const path = '/persons/new';
export const titleKey = 'personNew.title';
export const permission = 'counterparty:write';

export async function render(ctx) {
  const counterpartyId = ctx.query.get('counterparty');
  const [catalogs, counterparty] = await Promise.all([
    ref.catalogsOrEmpty(CATALOGS),
    counterpartyId
      ? api.get(`${COUNTERPARTIES}/${encodeURIComponent(counterpartyId)}`, { signal: ctx.signal }).then((r) => r.data)
      : null,
  ]);
  const link = counterparty ? linkSection(counterparty, catalogs['person-roles']) : null;
  const { form, controls, values, showErrors } = personForm({
    submitKey: 'personNew.submit',
    cancelHref: counterparty ? `#/counterparties/${encodeURIComponent(counterparty.id)}` : '#/persons',
    kinds: catalogs['contact-kinds'],
    properties: catalogs.properties,
    categories: catalogs.categories,
    extra: link?.section ?? null,
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = values();
    if (link) body.links = [link.value()];
    busy(form, true);
    try {
      // One key per submission: if the connection drops, the retry cannot register it twice.
      const { data, position } = await api.post(API, body, { idempotencyKey: api.newIdempotencyKey() });
      ctx.navigate(`/persons/${encodeURIComponent(data.id)}${position === null ? '' : `?min_position=${position}`}`);
    } catch (error) {
      busy(form, false);
      if (error.status !== 401) showErrors(error, 'personNew.failed');
    }
  });

  setTimeout(() => controls.first_name.focus(), 0);
  return h(
    'section',
    {},
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/persons', i18n: 'persons.title' })),
    heading('personNew.title'),
    form,
  );
}

/** "Works at <counterparty>": position and role of the link made with the person. */
function linkSection(counterparty, roles) {
  const position = input({ maxlength: 200 });
  const role = h(
    'select',
    {},
    h('option', { value: '', text: '—' }),
    ref.active(roles).map((r) => h('option', { value: r.code, text: r.name })),
  );
  const section = h(
    'fieldset',
    { class: 'cp-section' },
    h('legend', { i18n: 'personNew.worksAt', i18nArgs: { name: counterparty.name } }),
    field({ name: 'links[0].position', label: 'person.field.position', control: position }),
    field({ name: 'links[0].role', label: 'person.field.role', control: role }),
  );
  return {
    section,
    value: () => ({ counterparty_id: counterparty.id, position: position.value.trim() || null, role: role.value || null }),
  };
}
