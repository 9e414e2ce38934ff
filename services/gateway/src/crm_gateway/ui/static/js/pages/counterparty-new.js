// Register a counterparty. After the 201 the card opens with ?min_position= from the answer's
// X-Commit-Position, so it shows the new record even before the list view has caught up.
import * as api from '../api.js';
import { API } from '../counterparty-fields.js';
import { counterpartyForm } from '../counterparty-form.js';
import { h } from '../dom.js';
import { busy, clearErrors, showErrors } from '../forms.js';
import * as session from '../session.js';
import { heading } from '../widgets.js';

export const path = '/counterparties/new';
export const titleKey = 'counterpartyNew.title';
export const permission = 'counterparty:write';

export function render(ctx) {
  const { form, controls, values } = counterpartyForm({
    submitKey: 'counterpartyNew.submit',
    cancelHref: '#/counterparties',
  });
  const user = session.current();
  controls.main_manager.value = user?.id ?? user?.username ?? '';

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = values();
    if (body.tax_id === null) delete body.tax_id;
    if (body.access_group === null) delete body.access_group; // the server puts it in its default group
    busy(form, true);
    try {
      // One key per submission: if the connection drops, the retry cannot register it twice.
      const { data, position } = await api.post(API, body, { idempotencyKey: api.newIdempotencyKey() });
      ctx.navigate(
        `/counterparties/${encodeURIComponent(data.id)}${position === null ? '' : `?min_position=${position}`}`,
      );
    } catch (error) {
      busy(form, false);
      if (error.status === 401) return;
      showErrors(form, error, 'counterpartyNew.failed');
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
