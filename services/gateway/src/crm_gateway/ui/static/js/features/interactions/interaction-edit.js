// Change the details of an interaction (kind, direction, importance, subject, parties, people, project,
// description and content; times, state and the source have their own actions on the card). The PATCH
// sends only what changed, with If-Match; a change made meanwhile (412, or 409 at the same moment)
// shows the conflict box, whose Reload loads the current version into the form.
import * as api from '../../core/api.js';
import { h } from '../../core/dom.js';
import { busy, clearErrors } from '../../core/forms.js';
import { API } from './interaction-fields.js';
import { conflictBox, interactionForm, showInteractionErrors } from './interaction-form.js';
import { heading } from '../../core/widgets.js';

export const path = '/interactions/:id/edit';
export const titleKey = 'ia.edit.title';
export const permission = 'interaction:write';

export async function render(ctx) {
  const url = `${API}/${encodeURIComponent(ctx.params.id)}`;
  const cardPath = `/interactions/${encodeURIComponent(ctx.params.id)}`;
  const { form, changes, fill } = await interactionForm({
    submitKey: 'form.save',
    cancelHref: `#${cardPath}`,
    editing: true,
  });
  let loaded = null;
  let etag = null;

  async function load() {
    const answer = await api.get(url, { signal: ctx.signal });
    loaded = answer.data;
    etag = answer.etag ?? `"${loaded.version}"`;
    await fill(loaded);
    ctx.setTitle(loaded.subject);
  }

  const conflict = conflictBox(async () => {
    await load();
    clearErrors(form);
    conflict.hidden = true;
    form.querySelector('input, select')?.focus();
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const changed = changes(loaded);
    if (Object.keys(changed).length === 0) {
      ctx.navigate(cardPath);
      return;
    }
    busy(form, true);
    try {
      const { position } = await api.patch(url, changed, { ifMatch: etag, idempotencyKey: api.newIdempotencyKey() });
      ctx.navigate(`${cardPath}${position === null ? '' : `?min_position=${position}`}`);
    } catch (error) {
      busy(form, false);
      if (error.status === 412 || error.status === 409) {
        conflict.hidden = false;
        conflict.querySelector('button')?.focus();
      } else if (error.status !== 401) {
        showInteractionErrors(form, error, 'ia.edit.failed');
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
      h('a', { href: '#/interactions', i18n: 'ia.list.title' }),
      ' / ',
      h('a', { href: `#${cardPath}`, text: loaded.subject }),
    ),
    heading('ia.edit.title'),
    loaded.state === 'cancelled' ? h('p', { class: 'alert alert-warning', i18n: 'ia.edit.cancelled' }) : null,
    conflict,
    form,
  );
}
