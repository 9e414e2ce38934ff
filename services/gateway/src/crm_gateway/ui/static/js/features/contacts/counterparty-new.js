// Register a counterparty. After the 201 the card opens with ?min_position= from the answer's
// X-Commit-Position, so it shows the new record even before the list view has caught up.
import * as api from '../../core/api.js';
import { API } from './counterparty-fields.js';
import { counterpartyForm } from './counterparty-form.js';
import { h } from '../../core/dom.js';
import { busy, clearErrors, showFormErrors } from '../../core/forms.js';
import * as session from '../../core/session.js';
import { heading } from '../../core/widgets.js';

export const path = '/counterparties/new';
export const titleKey = 'counterpartyNew.title';
export const permission = 'counterparty:write';

export async function render(ctx) {
  const { form, controls, mainManager, values, addPhone } = await counterpartyForm({
    submitKey: 'counterpartyNew.submit',
    cancelHref: '#/counterparties',
    withSource: true,
  });
  const user = session.current();
  mainManager.fill(user?.id ?? '');
  form.querySelector('input[name=relations][value=buyer]').checked = true; // the usual case
  // ?phone=…: registering a caller nobody knew (from the caller-id page), with their number.
  const phone = ctx.query.get('phone');
  if (phone) addPhone(phone);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    busy(form, true);
    try {
      // One key per submission: if the connection drops, the retry cannot register it twice.
      const { data, position } = await api.post(API, withoutEmpty(values()), {
        idempotencyKey: api.newIdempotencyKey(),
      });
      ctx.navigate(
        `/counterparties/${encodeURIComponent(data.id)}${position === null ? '' : `?min_position=${position}`}`,
      );
    } catch (error) {
      busy(form, false);
      if (error.status === 401) return;
      showFormErrors(form, error, 'counterpartyNew.failed');
    }
  });

  setTimeout(() => controls.name.focus(), 0);
  return h(
    'section',
    {},
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/counterparties', i18n: 'counterparties.title' })),
    heading('counterpartyNew.title'),
    form,
  );
}

// Nothing to say about a field: leave it out (the server applies its default, e.g. the access group).
function withoutEmpty(body) {
  const kept = {};
  for (const [name, value] of Object.entries(body)) {
    const empty =
      value === null ||
      value === '' ||
      (Array.isArray(value) && value.length === 0 && name !== 'relations') ||
      (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);
    if (!empty) kept[name] = value;
  }
  return kept;
}
