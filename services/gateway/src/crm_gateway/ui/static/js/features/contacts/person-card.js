// One contact person: details, properties and categories, contact information, the counterparties
// it works for (with position and role; link and unlink), its change history, the vCard download and, for personal-data
// administrators, "Export personal data" and "Erase" (after a confirmation with the request's
// reference). `?min_position=` makes the server wait until its view includes a write just made.
import * as api from '../../core/api.js';
import { contactValue, propertyText } from './counterparty-fields.js';
import { formatDate } from '../../core/dates.js';
import { dateTime, h, uid } from '../../core/dom.js';
import { busy, clearErrors, field, formAlert, input, showErrors } from '../../core/forms.js';
import { API, CATALOGS, COUNTERPARTIES, genderText, personName } from './person-fields.js';
import * as ref from '../../core/reference-cache.js';
import * as session from '../../core/session.js';
import { errorBox, linkButton, loading, scrollable } from '../../core/widgets.js';

export const path = '/persons/:id';
export const titleKey = 'person.title';
export const permission = 'counterparty:read';

const TYPING_DELAY_MS = 250;

export async function render(ctx) {
  const id = ctx.params.id;
  const url = `${API}/${encodeURIComponent(id)}`;
  // A 404 (a private person of someone else, or outside the user's groups) becomes the not-found page.
  const [{ data: person, etag }, catalogs] = await Promise.all([
    api.get(url, { query: { min_position: ctx.query.get('min_position') }, signal: ctx.signal }),
    ref.catalogsOrEmpty(CATALOGS),
  ]);
  const env = {
    id,
    url,
    etag: etag || `"${person.version}"`,
    catalogs,
    canWrite: session.can('counterparty:write') && !person.erased,
    /** Show the card again once the view includes commit `position`. */
    reload(position) {
      ctx.navigate(`/persons/${encodeURIComponent(id)}${position === null || position === undefined ? '' : `?min_position=${position}`}`);
    },
  };
  if (person.erased) ctx.setTitle(null);
  else ctx.setTitle(person.display_name);

  const actions = h('div', { class: 'cp-actions' });
  if (env.canWrite) actions.append(linkButton(`#/persons/${encodeURIComponent(id)}/edit`, 'person.edit', 'button primary'));
  if (!person.erased) {
    actions.append(
      h('a', { class: 'button', href: `${url}/vcard`, download: `person-${id}.vcf`, i18n: 'person.vcard' }),
    );
  }

  return h(
    'article',
    { class: 'card person-card', dataset: { etag: env.etag } },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/persons', i18n: 'persons.title' })),
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, personName(person)), actions),
    person.erased
      ? h(
          'div',
          { class: 'alert alert-warning person-erased', role: 'status' },
          h('p', { i18n: 'person.erasedBanner', i18nArgs: { at: formatDate(String(person.erased_at || '').slice(0, 10)) } }),
        )
      : null,
    person.private ? h('p', {}, h('span', { class: 'badge', i18n: 'person.privateBadge' }), ' ', h('span', { class: 'muted', i18n: 'person.privateExplain' })) : null,
    facts(person),
    classification(person, catalogs),
    h('h2', { i18n: 'person.section.contacts' }),
    contacts(person, catalogs),
    h('h2', { i18n: 'person.section.counterparties' }),
    links(person, env),
    env.canWrite ? linkForm(env) : null,
    h('h2', { i18n: 'person.section.history' }),
    history(env),
    session.can('personal-data:admin') ? personalData(person, env) : null,
  );
}

function facts(person) {
  const rows = [
    ['person.field.birth_date', person.birth_date ? formatDate(person.birth_date) : '—'],
    [
      'person.field.birthday_reminder_days',
      person.birthday_reminder_days === null || person.birthday_reminder_days === undefined
        ? '—'
        : h('span', { i18n: 'person.reminderDays', i18nArgs: { days: person.birthday_reminder_days } }),
    ],
    ['person.field.gender', person.erased ? '—' : genderText(person.gender)],
    ['person.field.description', h('span', { class: 'cp-comment', text: person.description || '—' })],
    ['person.field.registered_at', person.registered_at ? dateTime(person.registered_at) : '—'],
    ['person.field.version', String(person.version)],
  ];
  return h(
    'dl',
    { class: 'facts' },
    rows.map(([key, value]) => [h('dt', { i18n: key }), h('dd', {}, value)]),
  );
}

/** The person's properties (by their definitions' names and value types) and categories. */
function classification(person, catalogs) {
  const values = Object.entries(person.properties || {});
  const categories = person.categories || [];
  return [
    h('h2', { i18n: 'person.section.classification' }),
    values.length
      ? h(
          'dl',
          { class: 'facts person-properties' },
          values.map(([code, value]) => [
            h('dt', { text: ref.nameOf(catalogs.properties, code) }),
            h('dd', { dataset: { property: code } }, propertyText(ref.entryOf(catalogs.properties, code), value)),
          ]),
        )
      : h('p', { class: 'empty', i18n: 'person.properties.empty' }),
    h('h3', { i18n: 'person.field.categories' }),
    categories.length
      ? h(
          'ul',
          { class: 'cp-tags person-categories' },
          categories.map((code) => h('li', { class: 'badge', text: ref.nameOf(catalogs.categories, code) })),
        )
      : h('p', { class: 'empty', i18n: 'person.categories.empty' }),
  ];
}

function contacts(person, catalogs) {
  const entries = (person.contact_info || []).filter((c) => c.value);
  if (!entries.length) return h('p', { class: 'empty', i18n: 'person.contact.empty' });
  return scrollable(
    h(
      'table',
      { class: 'data-table person-contact-table' },
      h('caption', { class: 'visually-hidden', i18n: 'person.section.contacts' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['person.contact.kind', 'person.contact.value', 'person.contact.main', 'person.contact.comment'].map((key) =>
            h('th', { scope: 'col', i18n: key }),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        entries.map((entry) =>
          h(
            'tr',
            { dataset: { kind: entry.kind, type: entry.type } },
            h('td', { text: ref.nameOf(catalogs['contact-kinds'], entry.kind) }),
            h('td', {}, contactValue(entry)),
            h('td', {}, entry.main ? h('span', { class: 'badge', i18n: 'person.contact.mainBadge' }) : ''),
            h('td', { text: entry.comment || '' }),
          ),
        ),
      ),
    ),
  );
}

function links(person, env) {
  if (!person.links?.length) return h('p', { class: 'empty', i18n: 'person.links.empty' });
  const alert = formAlert();
  const table = h(
    'table',
    { class: 'data-table person-links' },
    h('caption', { class: 'visually-hidden', i18n: 'person.section.counterparties' }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['person.field.counterparty', 'person.field.position', 'person.field.role', env.canWrite ? 'person.links.actions' : null]
          .filter(Boolean)
          .map((key) => h('th', { scope: 'col', i18n: key })),
      ),
    ),
    h(
      'tbody',
      {},
      person.links.map((link) => {
        const name = link.counterparty_name || link.counterparty_id;
        const row = h(
          'tr',
          { dataset: { counterparty: link.counterparty_id } },
          h('td', {}, h('a', { href: `#/counterparties/${encodeURIComponent(link.counterparty_id)}`, text: name })),
          h('td', { text: link.position || '—' }),
          h('td', { text: link.role ? ref.nameOf(env.catalogs['person-roles'], link.role) : '—' }),
        );
        if (env.canWrite) {
          const remove = h('button', {
            type: 'button',
            class: 'button-quiet button-small',
            i18n: 'person.links.remove',
            i18nAttrs: { 'aria-label': 'person.links.removeLabel' },
            i18nArgs: { name },
          });
          remove.addEventListener('click', async () => {
            remove.disabled = true;
            try {
              const path = `${env.url}/counterparties/${encodeURIComponent(link.counterparty_id)}`;
              const { position } = await api.del(path, { ifMatch: env.etag });
              env.reload(position);
            } catch (error) {
              remove.disabled = false;
              alert.replaceChildren(errorBox(error));
            }
          });
          row.append(h('td', {}, remove));
        }
        return row;
      }),
    ),
  );
  return h('div', {}, alert, scrollable(table));
}

/** Link the person to a counterparty: search the register, then position and role. */
function linkForm(env) {
  let chosen = null;
  const search = input({ type: 'search', i18nAttrs: { placeholder: 'person.links.searchPlaceholder' } });
  const results = h('ul', { class: 'cp-picker-results', hidden: true });
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  const chosenText = h('strong', {});
  const current = h('div', { class: 'cp-picker-current', hidden: true }, h('span', { i18n: 'person.links.chosen' }), ' ', chosenText);
  const position = input({ maxlength: 200 });
  const role = h(
    'select',
    {},
    h('option', { value: '', text: '—' }),
    ref.active(env.catalogs['person-roles']).map((r) => h('option', { value: r.code, text: r.name })),
  );
  const counterpartyField = field({ name: 'counterparty_id', label: 'person.field.counterparty', control: search });
  search.after(current, results, status);
  const form = h(
    'form',
    { class: 'form panel person-link-form', novalidate: true },
    formAlert(),
    h('h3', { i18n: 'person.links.add' }),
    counterpartyField,
    field({ name: 'position', label: 'person.field.position', control: position }),
    field({ name: 'role', label: 'person.field.role', control: role }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button', i18n: 'person.links.link' })),
  );

  let typing = null;
  let number = 0;
  async function find() {
    const q = search.value.trim();
    const mine = ++number;
    if (!q) {
      results.hidden = true;
      status.replaceChildren();
      return;
    }
    try {
      const { data } = await api.get(COUNTERPARTIES, { query: { q, limit: 8 } });
      if (mine !== number) return;
      results.replaceChildren(
        ...data.items.map((item) =>
          h(
            'li',
            {},
            h('button', {
              type: 'button',
              class: 'button-quiet',
              text: item.name,
              on: {
                click: () => {
                  chosen = item;
                  chosenText.textContent = item.name;
                  current.hidden = false;
                  results.hidden = true;
                  search.value = '';
                  status.replaceChildren();
                  position.focus();
                },
              },
            }),
          ),
        ),
      );
      results.hidden = data.items.length === 0;
      status.replaceChildren(h('span', { i18n: data.items.length ? 'person.links.found' : 'person.links.none' }));
    } catch (error) {
      if (mine === number) status.replaceChildren(errorBox(error));
    }
  }
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(find, TYPING_DELAY_MS);
  });
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      clearTimeout(typing);
      find();
    }
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!chosen) {
      showErrors(form, { status: 422, errors: [{ field: 'counterparty_id', message: '', type: 'person.pick' }] });
      return;
    }
    busy(form, true);
    try {
      const path = `${env.url}/counterparties/${encodeURIComponent(chosen.id)}`;
      const body = { position: position.value.trim() || null, role: role.value || null };
      const { position: commit } = await api.request('PUT', path, { body, ifMatch: env.etag });
      env.reload(commit);
    } catch (error) {
      busy(form, false);
      if (error.status !== 401) showErrors(form, error, 'person.links.failed');
    }
  });
  return form;
}

/** The change history, loaded when asked for. */
function history(env) {
  const box = h('div', { class: 'person-history' });
  const show = h('button', { type: 'button', class: 'button', i18n: 'person.history.show' });
  show.addEventListener('click', async () => {
    box.replaceChildren(loading());
    try {
      const { data } = await api.get(`${env.url}/history`);
      box.replaceChildren(historyTable(data.items, env.catalogs));
    } catch (error) {
      box.replaceChildren(errorBox(error), show);
    }
  });
  box.append(show);
  return box;
}

function historyTable(items, catalogs) {
  return scrollable(
    h(
      'table',
      { class: 'data-table person-history-table' },
      h('caption', { class: 'visually-hidden', i18n: 'person.section.history' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['person.history.version', 'person.history.at', 'person.history.actor', 'person.history.change'].map((key) =>
            h('th', { scope: 'col', i18n: key }),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        items.map((entry) =>
          h(
            'tr',
            {},
            h('td', { text: String(entry.version) }),
            h('td', {}, dateTime(entry.at)),
            h('td', { text: entry.actor || '—' }),
            h('td', {}, h('strong', { i18n: `person.event.${entry.event}` }), changeList(entry, catalogs)),
          ),
        ),
      ),
    ),
  );
}

function changeList(entry, catalogs) {
  const erased = new Set(entry.erased_fields || []);
  const lines = [];
  for (const [field, value] of Object.entries(entry.changes || {})) {
    const properties = entry.event === 'PersonPropertiesChanged' && field === 'values';
    const name = properties ? 'properties' : field; // as the API names the field
    let shown;
    if (erased.has(field)) shown = h('em', { i18n: 'person.erasedValue' });
    else if (name === 'contact_info') {
      shown = (value || []).map((c, i) => (erased.has(`contact_info[${i}].value`) ? '…' : c.value)).join(', ') || '—';
    } else if (properties) {
      const named = Object.entries(value || {}).map(([code, v]) => `${ref.nameOf(catalogs.properties, code)}: ${v}`);
      shown = named.join(', ') || '—';
    } else if (name === 'categories') {
      shown = (value || []).map((code) => ref.nameOf(catalogs.categories, code)).join(', ') || '—';
    } else if (value === null || value === undefined || value === '') shown = '—';
    else shown = String(value);
    lines.push(h('li', {}, h('span', { class: 'cp-change-label', text: `${name}: ` }), shown));
  }
  return lines.length ? h('ul', { class: 'cp-changes' }, lines) : null;
}

/** Personal-data administrators: export everything held on the person, and erase it for good. */
function personalData(person, env) {
  const status = h('div', { 'aria-live': 'polite' });
  const exportButton = h('button', { type: 'button', class: 'button', i18n: 'person.gdpr.export' });
  exportButton.addEventListener('click', async () => {
    exportButton.disabled = true;
    try {
      const { data } = await api.get(`${env.url}/personal-data`);
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      const href = URL.createObjectURL(blob);
      const a = h('a', { href, download: `personal-data-${env.id}.json`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 10_000);
      status.replaceChildren(h('p', { class: 'muted', i18n: 'person.gdpr.exported' }));
    } catch (error) {
      status.replaceChildren(errorBox(error));
    } finally {
      exportButton.disabled = false;
    }
  });

  const erase = person.erased ? null : eraseControls(env);
  return h(
    'section',
    { class: 'panel person-gdpr' },
    h('h2', { i18n: 'person.gdpr.title' }),
    h('div', { class: 'form-actions' }, exportButton, erase?.open),
    erase?.form,
    status,
  );
}

function eraseControls(env) {
  const open = h('button', { type: 'button', class: 'button', i18n: 'person.gdpr.erase' });
  const reasonId = uid('erase-reason');
  const reason = h('input', { type: 'text', id: reasonId, name: 'reason', maxlength: 500, autocomplete: 'off' });
  const form = h(
    'form',
    { class: 'form alert alert-error person-erase-form', hidden: true, novalidate: true },
    formAlert(),
    h('p', {}, h('strong', { i18n: 'person.gdpr.eraseWarning' })),
    field({ name: 'reason', label: 'person.gdpr.reason', control: reason, hint: 'person.gdpr.reasonHint', required: true }),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: 'person.gdpr.confirmErase' }),
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
    clearErrors(form);
    busy(form, true);
    try {
      const { position } = await api.post(`${env.url}/erase`, { reason: reason.value.trim() });
      env.reload(position);
    } catch (error) {
      busy(form, false);
      if (error.status !== 401) showErrors(form, error, 'person.gdpr.eraseFailed');
    }
  });
  return { open, form };
}
