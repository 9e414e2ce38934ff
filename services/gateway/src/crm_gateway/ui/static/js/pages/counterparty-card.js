// One counterparty. `?min_position=` (from the create or edit answer's X-Commit-Position) makes
// the server wait until its view includes that write, so a new record shows at once.
import * as api from '../api.js';
import { API, kindText } from '../counterparty-fields.js';
import { dateTime, h } from '../dom.js';
import * as session from '../session.js';
import { linkButton } from '../widgets.js';

export const path = '/counterparties/:id';
export const titleKey = 'counterparty.title';
export const permission = 'counterparty:read';

export async function render(ctx) {
  const id = ctx.params.id;
  // A 404 (also for a record outside the user's access groups) becomes the not-found page in app.js.
  const { data, etag } = await api.get(`${API}/${encodeURIComponent(id)}`, {
    query: { min_position: ctx.query.get('min_position') },
    signal: ctx.signal,
  });
  ctx.setTitle(data.name);

  const facts = [
    ['field.kind', kindText(data.kind)],
    ['field.tax_id', data.tax_id || '—'],
    ['field.main_manager', data.main_manager],
    data.access_group !== undefined ? ['field.access_group', data.access_group || '—'] : null,
    data.registered_at ? ['field.registered_at', dateTime(data.registered_at)] : null,
    ['field.version', String(data.version)],
  ].filter(Boolean);

  const title = h('h1', { tabindex: '-1', text: data.name });
  return h(
    'article',
    { class: 'card', dataset: { etag: etag || '' } },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/counterparties', i18n: 'counterparties.title' })),
    h(
      'div',
      { class: 'page-head' },
      title,
      session.can('counterparty:write')
        ? linkButton(`#/counterparties/${encodeURIComponent(id)}/edit`, 'counterparty.edit', 'button primary')
        : null,
    ),
    h(
      'dl',
      { class: 'facts' },
      facts.map(([key, value]) => [h('dt', { i18n: key }), h('dd', {}, value)]),
    ),
  );
}
