// Plan an interaction, or record one that happened (?state=completed). ?counterparty_id= and
// ?contact_person_id= fill the parties (the card's "Plan" button), ?start= (a datetime-local value)
// the start (a calendar day). After the 201 the interaction's card opens with ?min_position= from the
// answer; when the answer carries `source_prompt` the card shows the prompt to record the source.
import * as api from '../../core/api.js';
import { h } from '../../core/dom.js';
import { busy, clearErrors, setFieldError } from '../../core/forms.js';
import { API } from './interaction-fields.js';
import { interactionForm, showInteractionErrors } from './interaction-form.js';
import { heading } from '../../core/widgets.js';

export const path = '/interactions/new';
export const titleKey = 'ia.new.title';
export const permission = 'interaction:write';

export async function render(ctx) {
  const counterpartyId = ctx.query.get('counterparty_id') || '';
  const back = counterpartyId
    ? `#/counterparties/${encodeURIComponent(counterpartyId)}/interactions`
    : '#/interactions';
  const recording = ctx.query.get('state') === 'completed';
  const { form, values } = await interactionForm({
    submitKey: recording ? 'ia.new.submitRecord' : 'ia.new.submitPlan',
    cancelHref: back,
    initial: {
      counterparty_id: counterpartyId,
      contact_person_id: ctx.query.get('contact_person_id') || '',
      state: recording ? 'completed' : 'planned',
      start: ctx.query.get('start') || '',
    },
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = values();
    if (!body.counterparty_id && !body.contact_person_id) {
      setFieldError(form, 'counterparty_id', 'ia.form.partyRequired');
      form.querySelector('[name=counterparty_id]')?.focus();
      return;
    }
    busy(form, true);
    try {
      // One key per submission: if the connection drops, the retry cannot create it twice.
      const { data, position } = await api.post(API, body, { idempotencyKey: api.newIdempotencyKey() });
      const query = new URLSearchParams();
      if (position !== null) query.set('min_position', String(position));
      if (data.source_prompt) query.set('prompt', data.source_prompt.reason);
      const text = query.toString();
      ctx.navigate(`/interactions/${encodeURIComponent(data.id)}${text ? `?${text}` : ''}`);
    } catch (error) {
      busy(form, false);
      if (error.status === 401) return;
      showInteractionErrors(form, error, 'ia.new.failed');
    }
  });

  setTimeout(() => form.querySelector('input[name=subject]')?.focus(), 0);
  return h(
    'section',
    {},
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/interactions', i18n: 'ia.list.title' })),
    heading(recording ? 'ia.new.titleRecord' : 'ia.new.title'),
    form,
  );
}
