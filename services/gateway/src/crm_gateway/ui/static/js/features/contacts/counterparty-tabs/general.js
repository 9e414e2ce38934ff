// The general tab of the card: the details, and archiving (with a reason) and restoring.
// `facts` also shows a past card (the history tab's "as of" view).
import * as api from '../../../core/api.js';
import { API, codesText, groupPath, relationsText } from '../counterparty-fields.js';
import { dateTime, h } from '../../../core/dom.js';
import { formAlert, showErrors } from '../../../core/forms.js';
import { nameOf } from '../../../core/reference-cache.js';
import { userName, userNames } from '../../../core/people.js';

/** The details of `record` as a definition list. */
export function facts(record, env) {
  const { catalogs } = env;
  const names = (catalog, codes) => (codes || []).map((c) => nameOf(catalogs[catalog], c)).join(', ') || '—';
  const rows = [
    ['cp.field.relations', relationsText(record.relations)],
    ['cp.field.legal_form', h('span', { i18n: `cp.legalForm.${record.legal_form || 'legal'}` })],
    ['field.tax_id', record.tax_id || '—'],
    ['cp.field.vat_id', record.vat_id || '—'],
    ['cp.field.external_codes', codesText(record.external_codes) || '—'],
    ['cp.field.group', groupPath(catalogs.groups, record.group) || '—'],
    ['cp.field.head', record.head_counterparty_id ? counterpartyLink(record.head_counterparty_id) : '—'],
    ['cp.field.region', record.region ? nameOf(catalogs.regions, record.region) : '—'],
    ['cp.field.activity_kinds', names('activity-kinds', record.activity_kinds)],
    ['field.main_manager', userName(record.main_manager)],
    ['cp.field.allManagers', userNames(record.managers)],
    record.access_group !== undefined ? ['field.access_group', record.access_group || '—'] : null,
    record.registered_at ? ['field.registered_at', dateTime(record.registered_at)] : null,
    record.merged_into ? ['cp.field.merged_into', counterpartyLink(record.merged_into)] : null,
    ['cp.field.comment', record.comment ? h('span', { class: 'cp-comment', text: record.comment }) : '—'],
    ['field.version', String(record.version)],
  ].filter(Boolean);
  return h(
    'dl',
    { class: 'facts' },
    rows.map(([key, value]) => [h('dt', { i18n: key }), h('dd', { dataset: { fact: key } }, value)]),
  );
}

/** A link to another counterparty, showing its name once read (its id when the user cannot see it). */
export function counterpartyLink(id) {
  const link = h('a', { href: `#/counterparties/${encodeURIComponent(id)}`, text: id });
  api
    .get(`${API}/${encodeURIComponent(id)}`)
    .then(({ data }) => {
      link.textContent = data.name;
    })
    .catch(() => {
      // not visible to this user, or gone: the id stands for it
    });
  return link;
}

export function render(record, env) {
  const panel = h('div', {}, facts(record, env));
  if (env.canWrite && !record.archived) panel.append(archiveForm(env));
  return panel;
}

/** "Archive" opens a short form asking why; the record leaves the lists until restored. */
function archiveForm(env) {
  const open = h('button', { type: 'button', class: 'button', i18n: 'cp.archive.open' });
  const reason = h('textarea', { rows: 2, maxlength: 500, id: `archive-reason-${env.id}` });
  const form = h(
    'form',
    { class: 'form panel cp-archive', hidden: true, novalidate: true },
    formAlert(),
    h('h2', { i18n: 'cp.archive.title' }),
    h('p', { class: 'muted', i18n: 'cp.archive.explain' }),
    h(
      'div',
      { class: 'field', dataset: { field: 'reason' } },
      h('label', { for: reason.id, i18n: 'cp.archive.reason' }),
      reason,
      h('p', { class: 'field-error', hidden: true }),
    ),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: 'cp.archive.confirm' }),
      h('button', {
        type: 'button',
        class: 'button button-quiet',
        i18n: 'form.cancel',
        on: {
          click: () => {
            form.hidden = true;
            open.hidden = false;
            open.focus();
          },
        },
      }),
    ),
  );
  open.addEventListener('click', () => {
    open.hidden = true;
    form.hidden = false;
    reason.focus();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    await act(form, env, () =>
      api.post(`${API}/${encodeURIComponent(env.id)}/archive`, { reason: reason.value.trim() }, { ifMatch: env.etag }),
    );
  });
  return h('div', { class: 'cp-actions' }, open, form);
}

/** The banner of an archived counterparty, with Restore for those who may change it. */
export function archivedBanner(record, env) {
  const form = h(
    'form',
    { class: 'alert alert-warning cp-archived', role: 'status', novalidate: true },
    h('p', {}, h('strong', { i18n: record.merged_into ? 'cp.archived.merged' : 'cp.archived.text' })),
    formAlert(),
  );
  if (env.canWrite && !record.merged_into) {
    const restore = h('button', { type: 'submit', class: 'button', i18n: 'cp.restore' });
    form.append(h('div', { class: 'form-actions' }, restore));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      await act(form, env, () =>
        api.post(`${API}/${encodeURIComponent(env.id)}/restore`, undefined, { ifMatch: env.etag }),
      );
    });
  }
  return form;
}

// Send an archive or restore; on success show the card again, else say why in the form.
async function act(form, env, send) {
  const buttons = [...form.querySelectorAll('button')];
  for (const b of buttons) b.disabled = true;
  try {
    const { position } = await send();
    env.reload('general', position);
  } catch (error) {
    for (const b of buttons) b.disabled = false;
    if (error.status === 401) return;
    const key = error.status === 412 || error.status === 409 ? 'cp.changedMeanwhile' : 'form.failed';
    showErrors(form, error, key);
  }
}
