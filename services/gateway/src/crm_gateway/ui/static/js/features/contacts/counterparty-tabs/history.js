// The history tab: every change (when, who, which event, what it set), and the card as it was at
// any moment ("as of", rebuilt by the server from the events up to then). The moment is kept in
// the address (#/counterparties/<id>/history?as_of=…), so a reload shows the same past card.
import * as api from '../../../core/api.js';
import { API, codesText, relationsText } from '../counterparty-fields.js';
import { formatDate } from '../../../core/dates.js';
import { dateTime, h } from '../../../core/dom.js';
import { has } from '../../../core/i18n.js';
import { userName, userNames } from '../../../core/people.js';
import { nameOf } from '../../../core/reference-cache.js';
import { replaceQuery } from '../../../core/router.js';
import { errorBox, loading, scrollable } from '../../../core/widgets.js';
import * as contactsTab from './contacts.js';
import { counterpartyLink, facts } from './general.js';

// The label of each field an event sets.
const LABELS = {
  name: 'field.name',
  relations: 'cp.field.relations',
  kind: 'cp.field.relations',
  tax_id: 'field.tax_id',
  vat_id: 'cp.field.vat_id',
  legal_form: 'cp.field.legal_form',
  group: 'cp.field.group',
  head_counterparty_id: 'cp.field.head',
  region: 'cp.field.region',
  comment: 'cp.field.comment',
  activity_kinds: 'cp.field.activity_kinds',
  main_manager: 'field.main_manager',
  managers: 'cp.field.allManagers',
  access_group: 'field.access_group',
  registered_at: 'field.registered_at',
  entries: 'cp.section.contacts',
  values: 'cp.section.properties',
  categories: 'cp.field.categories',
  source: 'cp.field.source',
  on: 'cp.sources.on',
  reason: 'cp.archive.reason',
  into: 'cp.field.merged_into',
  merged: 'cp.history.merged',
  external_codes: 'cp.field.external_codes',
};
// Fields whose values are codes of a catalog.
const CODES = {
  group: 'groups',
  region: 'regions',
  activity_kinds: 'activity-kinds',
  categories: 'categories',
  source: 'sources',
};

export async function render(record, env) {
  const url = `${API}/${encodeURIComponent(env.id)}`;
  const { data } = await api.get(`${url}/history`, { signal: env.signal });
  const past = h('div', { class: 'cp-asof-result', 'aria-live': 'polite' });
  const picker = h('input', { type: 'datetime-local', step: '1', id: `as-of-${env.id}`, name: 'as_of' });
  const show = h('button', { type: 'submit', class: 'button', i18n: 'cp.asOf.show' });
  const now = h('button', { type: 'button', class: 'button button-quiet', i18n: 'cp.asOf.now' });
  const historyPath = `/counterparties/${encodeURIComponent(env.id)}/history`;

  async function showAsOf(iso) {
    replaceQuery(historyPath, { as_of: iso });
    picker.value = localInput(iso);
    past.replaceChildren(loading());
    try {
      const answer = await api.get(url, { query: { as_of: iso }, signal: env.signal });
      past.replaceChildren(pastCard(answer.data, iso, env));
    } catch (error) {
      if (error.name === 'AbortError') return;
      past.replaceChildren(
        error.status === 404
          ? h('p', { class: 'alert alert-warning', i18n: 'cp.asOf.notYet', i18nArgs: { when: dateText(iso) } })
          : errorBox(error),
      );
    }
  }

  const form = h(
    'form',
    {
      class: 'cp-asof',
      novalidate: true,
      on: {
        submit: (event) => {
          event.preventDefault();
          if (!picker.value) {
            picker.focus();
            return;
          }
          showAsOf(new Date(picker.value).toISOString());
        },
      },
    },
    h('label', { for: picker.id, i18n: 'cp.asOf.label' }),
    picker,
    show,
    now,
  );
  now.addEventListener('click', () => {
    picker.value = '';
    past.replaceChildren();
    replaceQuery(historyPath, {});
  });

  const asOf = env.query.get('as_of');
  if (asOf && !Number.isNaN(new Date(asOf).getTime())) showAsOf(asOf);

  return h(
    'div',
    {},
    h('h2', { i18n: 'cp.asOf.title' }),
    form,
    past,
    h('h2', { i18n: 'cp.history.title' }),
    changesTable(data.items, env, showAsOf),
  );
}

function changesTable(items, env, showAsOf) {
  const newestFirst = [...items].reverse();
  return scrollable(
    h(
      'table',
      { class: 'data-table cp-history' },
      h('caption', { class: 'visually-hidden', i18n: 'cp.history.title' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['cp.history.when', 'cp.history.who', 'cp.history.event', 'cp.history.changes', 'cp.history.actions'].map(
            (key) => h('th', { scope: 'col', i18n: key }),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        newestFirst.map((item) =>
          h(
            'tr',
            { dataset: { version: item.version, event: item.event } },
            h('td', {}, dateTime(item.at)),
            h('td', {}, actorText(item.actor)),
            h('td', {}, eventName(item.event)),
            h('td', {}, changeList(item.changes, env, item.event === 'CounterpartyRegistered')),
            h(
              'td',
              {},
              h('button', {
                type: 'button',
                class: 'button button-small',
                i18n: 'cp.history.asOfThis',
                on: { click: () => showAsOf(item.at) },
              }),
            ),
          ),
        ),
      ),
    ),
  );
}

// Who made a change, by name (an API key or a system actor, which the directory does not know, stays as it is).
function actorText(actor) {
  if (!actor) return '—';
  return userName(actor);
}

function eventName(event) {
  const key = `cp.event.${event}`;
  return has(key) ? h('span', { i18n: key }) : h('span', { text: event });
}

/**
 * What an event set, as "label: value" lines; a details change lists the fields inside it. A
 * registration leaves out what it left empty (a change shows it: the field was cleared).
 */
function changeList(changes, env, skipEmpty) {
  const flat = { ...changes };
  if (flat.changes && typeof flat.changes === 'object') {
    Object.assign(flat, flat.changes);
    delete flat.changes;
  }
  const entries = Object.entries(flat).filter(([, v]) => !skipEmpty || !isEmpty(v));
  if (!entries.length) return '';
  return h(
    'ul',
    { class: 'cp-changes' },
    entries.map(([name, value]) =>
      h(
        'li',
        { dataset: { change: name } },
        LABELS[name] ? h('span', { class: 'cp-change-label', i18n: LABELS[name] }) : h('span', { text: name }),
        ': ',
        valueOf(name, value, env),
      ),
    ),
  );
}

function isEmpty(value) {
  return value === null || value === undefined || value === '' || (Array.isArray(value) && !value.length);
}

function valueOf(name, value, env) {
  const { catalogs } = env;
  if (isEmpty(value)) return '—';
  if (name === 'relations') return relationsText(value);
  if (name === 'kind') return relationsText([value]);
  if (name === 'legal_form') return h('span', { i18n: `cp.legalForm.${value}` });
  if (name === 'registered_at') return dateTime(value);
  if (name === 'main_manager') return userName(value);
  if (name === 'managers') return userNames(value);
  if (name === 'on') return formatDate(value);
  if (['head_counterparty_id', 'into', 'merged'].includes(name)) return counterpartyLink(value);
  if (name === 'external_codes') return codesText(value);
  if (name === 'entries') {
    const kind = (e) => nameOf(catalogs['contact-kinds'], e.kind);
    return value.map((e) => `${kind(e)}: ${e.value}${e.main ? ' ★' : ''}`).join('; ');
  }
  if (name === 'values' && typeof value === 'object') {
    return Object.entries(value)
      .map(([code, v]) => `${nameOf(catalogs.properties, code)}: ${v}`)
      .join('; ');
  }
  if (CODES[name]) {
    const codes = Array.isArray(value) ? value : [value];
    return codes.map((c) => nameOf(catalogs[CODES[name]], c)).join(', ');
  }
  // Dates and moments in the user's language, never as the API writes them.
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value)) return dateTime(value);
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return formatDate(value);
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** The card as it was: its name, details and contact information. */
function pastCard(record, iso, env) {
  return h(
    'section',
    { class: 'panel cp-asof-card' },
    h('h3', { i18n: 'cp.asOf.heading', i18nArgs: { when: dateText(iso), version: record.version } }),
    h(
      'p',
      { class: 'cp-asof-name' },
      h('strong', { text: record.name }),
      record.archived ? [' ', h('span', { class: 'badge badge-warn', i18n: 'cp.archived.badge' })] : null,
    ),
    facts(record, env),
    contactsTab.render(record, env),
  );
}

// A moment in the current language, fixed when shown (it is in an i18n argument).
function dateText(iso) {
  return dateTime(iso).textContent;
}

/** An ISO moment as the value of a datetime-local input, in local time to the second. */
function localInput(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}
