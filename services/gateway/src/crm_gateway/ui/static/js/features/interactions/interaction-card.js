// One interaction: every field, the prompt to record the counterparty's information source (when the
// server asks for it), the actions its state allows (reschedule, complete with an outcome, cancel
// with a reason, plan a follow-up, change details), the thread it belongs to and its history.
// The state-changing actions carry If-Match; a change made meanwhile (412, or 409 at the same
// moment) shows the conflict box with Reload. `?min_position=` makes the server wait until its view
// includes a write just made.
import * as api from '../../core/api.js';
import { date, dateTime, h } from '../../core/dom.js';
import { busy, clearErrors, field, formAlert, input, select, setFieldError } from '../../core/forms.js';
import {
  API,
  DIRECTIONS,
  KINDS,
  counterpartyCell,
  fromLocalInput,
  interactionHref,
  label,
  nextFullHour,
  period,
  personCell,
  reminderText,
  stateBadge,
  toLocalInput,
  userLabel,
  usersLabel,
} from './interaction-fields.js';
import { conflictBox, reminderSelect, showInteractionErrors, sourcePrompt } from './interaction-form.js';
import * as ref from '../../core/reference-cache.js';
import * as session from '../../core/session.js';
import { errorBox, linkButton, loading, scrollable } from '../../core/widgets.js';

export const path = '/interactions/:id';
export const titleKey = 'ia.card.title';
export const permission = 'interaction:read';

const THREAD_PAGE = 100;

export async function render(ctx) {
  const id = ctx.params.id;
  const url = `${API}/${encodeURIComponent(id)}`;
  // A 404 (also one outside the user's access groups) becomes the not-found page in app.js.
  const [{ data: item, etag }, { sources }] = await Promise.all([
    api.get(url, { query: { min_position: ctx.query.get('min_position') }, signal: ctx.signal }),
    ref.catalogsOrEmpty(['sources']),
  ]);
  ctx.setTitle(item.subject);
  const canWrite = session.can('interaction:write');
  const env = {
    id,
    url,
    etag: etag || `"${item.version}"`,
    /** Show this card (or another interaction's) again once the view includes commit `position`. */
    open(otherId, position, extra = {}) {
      const query = new URLSearchParams(extra);
      if (position !== null && position !== undefined) query.set('min_position', String(position));
      const text = query.toString();
      ctx.navigate(`/interactions/${encodeURIComponent(otherId)}${text ? `?${text}` : ''}`);
    },
  };

  const conflict = conflictBox(() => env.open(id));
  const prompt = item.source_prompt
    ? sourcePrompt(item, sources, {
        canWrite: canWrite && item.state !== 'cancelled',
        done: ({ position }) => env.open(id, position, { source_recorded: '1' }),
      })
    : null;
  if (prompt && ctx.query.get('prompt')) setTimeout(() => prompt.querySelector('select')?.focus(), 0);

  const counterpartyBase = item.counterparty_id ? `#/counterparties/${encodeURIComponent(item.counterparty_id)}` : null;
  const recorded =
    ctx.query.get('source_recorded') && item.source
      ? h(
          'div',
          { class: 'alert alert-success ia-source-recorded', role: 'status' },
          h('p', { i18n: 'ia.prompt.recorded', i18nArgs: { source: ref.nameOf(sources, item.source) } }),
          counterpartyBase ? h('p', {}, h('a', { href: `${counterpartyBase}/sources`, i18n: 'ia.prompt.seeSources' })) : null,
        )
      : null;

  const head = h(
    'div',
    { class: 'page-head' },
    h('div', { class: 'ia-title' }, h('h1', { tabindex: '-1', text: item.subject }), stateBadge(item.state)),
    canWrite && item.state !== 'cancelled'
      ? linkButton(`#/interactions/${encodeURIComponent(id)}/edit`, 'ia.card.edit', 'button')
      : null,
  );

  return h(
    'article',
    { class: 'card ia-card', dataset: { etag: env.etag, state: item.state } },
    h(
      'p',
      { class: 'breadcrumb' },
      h('a', { href: '#/interactions', i18n: 'ia.list.title' }),
      counterpartyBase
        ? [' / ', h('a', { href: `${counterpartyBase}/interactions`, text: item.counterparty_name || item.counterparty_id })]
        : null,
    ),
    head,
    conflict,
    recorded,
    prompt,
    facts(item, sources),
    canWrite ? actions(item, env, conflict) : null,
    h('h2', { i18n: 'ia.card.thread' }),
    thread(item, ctx.signal),
    h('h2', { i18n: 'ia.card.history' }),
    history(item, env, sources, ctx.signal),
  );
}

function facts(item, sources) {
  const basis = item.basis
    ? item.basis.type === 'interaction'
      ? h('a', { href: interactionHref(item.basis.id), text: item.basis.title || item.basis.id })
      : h('span', { text: `${item.basis.type}: ${item.basis.title || item.basis.id}` })
    : '—';
  const rows = [
    ['ia.field.kind', label('kind', item.kind)],
    ['ia.field.direction', label('direction', item.direction)],
    ['ia.field.state', stateBadge(item.state)],
    ['ia.field.importance', label('importance', item.importance)],
    ['ia.field.when', period(item)],
    [
      'ia.field.reminder',
      item.reminder
        ? h('span', {}, reminderText(item.reminder), item.reminder_at ? [' (', dateTime(item.reminder_at), ')'] : null)
        : '—',
    ],
    ['ia.field.counterparty', counterpartyCell(item)],
    ['ia.field.contact_person', personCell(item.contact_person_id)],
    ['ia.field.responsible', userLabel(item.responsible)],
    ['ia.field.participants', usersLabel(item.participants)],
    ['ia.field.third_parties', (item.third_parties || []).join(', ') || '—'],
    ['ia.field.basis', basis],
    ['ia.field.project', item.project || '—'],
    ['ia.field.source', item.source ? ref.nameOf(sources, item.source) : '—'],
    item.state === 'completed' ? ['ia.field.outcome', h('span', { class: 'cp-comment', text: item.outcome || '—' })] : null,
    item.outcome_code ? ['ia.field.outcome_code', item.outcome_code] : null,
    item.completed_at ? ['ia.field.completed_at', dateTime(item.completed_at)] : null,
    item.state === 'cancelled' ? ['ia.field.cancel_reason', h('span', { class: 'cp-comment', text: item.cancel_reason || '—' })] : null,
    item.cancelled_at ? ['ia.field.cancelled_at', dateTime(item.cancelled_at)] : null,
    item.follow_up_of ? ['ia.field.follow_up_of', h('a', { href: interactionHref(item.follow_up_of), i18n: 'ia.card.previous' })] : null,
    ['ia.field.created_by', userLabel(item.created_by)],
    ['ia.field.created_at', dateTime(item.created_at)],
    ['ia.field.description', h('span', { class: 'cp-comment', text: item.description || '—' })],
    ['ia.field.version', String(item.version)],
  ].filter(Boolean);
  return [
    h(
      'dl',
      { class: 'facts ia-facts' },
      rows.map(([key, value]) => [h('dt', { i18n: key }), h('dd', { dataset: { fact: key } }, value)]),
    ),
    item.content
      ? h('section', { class: 'panel ia-content' }, h('h2', { i18n: 'ia.field.content' }), h('div', { class: 'cp-comment', text: item.content }))
      : null,
  ];
}

// -- actions ---------------------------------------------------------------------------------------

/** The buttons of what the state allows; each opens its form below them (one at a time). */
function actions(item, env, conflict) {
  const bar = h('div', { class: 'form-actions ia-actions' });
  const forms = h('div', { class: 'ia-action-forms' });
  const entries = [];
  const add = (key, build) => {
    const button = h('button', { type: 'button', class: 'button', i18n: key });
    let form = null;
    button.addEventListener('click', () => {
      if (!form) {
        form = build(() => {
          form.hidden = true;
          button.focus();
        });
        forms.append(form);
      }
      for (const entry of entries) if (entry.form && entry.form !== form) entry.form.hidden = true;
      form.hidden = false;
      form.querySelector('input, textarea, select')?.focus();
    });
    const entry = { button, get form() { return form; } };
    entries.push(entry);
    bar.append(button);
  };
  if (item.state === 'planned') {
    add('ia.action.complete', (close) => completeForm(env, conflict, close));
    add('ia.action.reschedule', (close) => rescheduleForm(item, env, conflict, close));
    add('ia.action.cancel', (close) => cancelForm(env, conflict, close));
  }
  if (item.state === 'completed') add('ia.action.followUp', (close) => followUpForm(item, env, close));
  if (!entries.length) return null;
  return h('section', { class: 'ia-actions-panel' }, bar, forms);
}

function actionForm(titleKey, fields, submitKey, close) {
  return h(
    'form',
    { class: 'form panel ia-action-form', novalidate: true },
    h('h2', { i18n: titleKey }),
    formAlert(),
    fields,
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: submitKey }),
      h('button', { type: 'button', class: 'button button-quiet', i18n: 'form.cancel', on: { click: close } }),
    ),
  );
}

/** Send one action; on success show the card again, else say why (next to the field, or Reload). */
async function send(form, env, conflict, request, onDone) {
  clearErrors(form);
  conflict.hidden = true;
  busy(form, true);
  try {
    const answer = await request();
    onDone(answer);
  } catch (error) {
    busy(form, false);
    if (error.status === 401) return;
    if (error.status === 412 || error.status === 409) {
      conflict.hidden = false;
      conflict.querySelector('button')?.focus();
      return;
    }
    showInteractionErrors(form, error, 'ia.action.failed');
  }
}

function completeForm(env, conflict, close) {
  const outcome = h('textarea', { rows: 3, maxlength: 5000 });
  const code = input({ maxlength: 64 });
  const form = actionForm(
    'ia.action.completeTitle',
    [
      field({ name: 'outcome', label: 'ia.field.outcome', control: outcome, required: true }),
      field({ name: 'outcome_code', label: 'ia.field.outcome_code', control: code, hint: 'ia.hint.outcome_code' }),
    ],
    'ia.action.completeSubmit',
    close,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!outcome.value.trim()) {
      clearErrors(form);
      setFieldError(form, 'outcome', 'ia.action.outcomeRequired');
      outcome.focus();
      return;
    }
    const body = { outcome: outcome.value.trim() };
    if (code.value.trim()) body.outcome_code = code.value.trim();
    send(
      form,
      env,
      conflict,
      () => api.post(`${env.url}/complete`, body, { ifMatch: env.etag, idempotencyKey: api.newIdempotencyKey() }),
      ({ position }) => env.open(env.id, position),
    );
  });
  return form;
}

function rescheduleForm(item, env, conflict, close) {
  const start = input({ type: 'datetime-local', value: toLocalInput(item.start) });
  const end = input({ type: 'datetime-local', value: toLocalInput(item.end) });
  const reminder = reminderSelect();
  reminder.prepend(h('option', { value: 'keep', i18n: 'ia.reminder.keep' }));
  reminder.value = 'keep';
  const form = actionForm(
    'ia.action.rescheduleTitle',
    [
      h(
        'div',
        { class: 'cp-pair' },
        field({ name: 'start', label: 'ia.field.start', control: start, required: true }),
        field({ name: 'end', label: 'ia.field.end', control: end, hint: 'ia.hint.rescheduleEnd' }),
      ),
      field({ name: 'reminder', label: 'ia.field.reminder', control: reminder }),
    ],
    'ia.action.rescheduleSubmit',
    close,
  );
  // Moving the start without touching the end keeps the duration (the server does it).
  let endTouched = false;
  end.addEventListener('input', () => {
    endTouched = true;
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = {};
    const startValue = fromLocalInput(start.value);
    if (startValue) body.start = startValue;
    const endValue = fromLocalInput(end.value);
    if (endTouched && endValue) body.end = endValue;
    if (reminder.value !== 'keep') body.reminder = reminder.value ? Number(reminder.value) : null;
    send(
      form,
      env,
      conflict,
      () => api.post(`${env.url}/reschedule`, body, { ifMatch: env.etag, idempotencyKey: api.newIdempotencyKey() }),
      ({ position }) => env.open(env.id, position),
    );
  });
  return form;
}

function cancelForm(env, conflict, close) {
  const reason = h('textarea', { rows: 2, maxlength: 5000 });
  const form = actionForm(
    'ia.action.cancelTitle',
    [field({ name: 'reason', label: 'ia.field.cancel_reason', control: reason, required: true })],
    'ia.action.cancelSubmit',
    close,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!reason.value.trim()) {
      clearErrors(form);
      setFieldError(form, 'reason', 'ia.action.reasonRequired');
      reason.focus();
      return;
    }
    send(
      form,
      env,
      conflict,
      () =>
        api.post(`${env.url}/cancel`, { reason: reason.value.trim() }, { ifMatch: env.etag, idempotencyKey: api.newIdempotencyKey() }),
      ({ position }) => env.open(env.id, position),
    );
  });
  return form;
}

function followUpForm(item, env, close) {
  const kind = select(KINDS.map((k) => ({ value: k, label: `ia.kind.${k}` })));
  kind.value = item.kind;
  const direction = select(DIRECTIONS.map((d) => ({ value: d, label: `ia.direction.${d}` })));
  direction.value = 'outgoing';
  const subject = input({ maxlength: 200, value: item.subject });
  const start = input({ type: 'datetime-local', value: nextFullHour() });
  const end = input({ type: 'datetime-local' });
  const reminder = reminderSelect();
  const description = h('textarea', { rows: 2, maxlength: 1000 });
  const form = actionForm(
    'ia.action.followUpTitle',
    [
      h('p', { class: 'muted', i18n: 'ia.action.followUpExplain' }),
      h(
        'div',
        { class: 'cp-pair' },
        field({ name: 'kind', label: 'ia.field.kind', control: kind }),
        field({ name: 'direction', label: 'ia.field.direction', control: direction }),
      ),
      field({ name: 'subject', label: 'ia.field.subject', control: subject, required: true }),
      h(
        'div',
        { class: 'cp-pair' },
        field({ name: 'start', label: 'ia.field.start', control: start, required: true }),
        field({ name: 'end', label: 'ia.field.end', control: end, hint: 'ia.hint.end' }),
      ),
      field({ name: 'reminder', label: 'ia.field.reminder', control: reminder }),
      field({ name: 'description', label: 'ia.field.description', control: description }),
    ],
    'ia.action.followUpSubmit',
    close,
  );
  // No If-Match: a follow-up is a new interaction; the completed one does not change.
  const noConflict = h('div', { hidden: true });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body = { kind: kind.value, direction: direction.value, description: description.value.trim() };
    if (subject.value.trim()) body.subject = subject.value.trim();
    const startValue = fromLocalInput(start.value);
    const endValue = fromLocalInput(end.value);
    if (startValue) body.start = startValue;
    if (endValue) body.end = endValue;
    if (reminder.value) body.reminder = Number(reminder.value);
    send(
      form,
      env,
      noConflict,
      () => api.post(`${env.url}/follow-up`, body, { idempotencyKey: api.newIdempotencyKey() }),
      ({ data, position }) => env.open(data.id, position),
    );
  });
  return form;
}

// -- the thread and the history ----------------------------------------------------------------------

/** The interactions of the same thread, oldest first, this one marked. */
function thread(item, signal) {
  const box = h('div', { class: 'ia-thread', 'aria-live': 'polite' }, loading());
  api
    .get(API, { query: { thread_id: item.thread_id, order: 'asc', limit: THREAD_PAGE }, signal })
    .then(({ data }) => {
      if (data.items.length <= 1) {
        box.replaceChildren(h('p', { class: 'empty', i18n: 'ia.card.threadAlone' }));
        return;
      }
      box.replaceChildren(
        h(
          'ol',
          { class: 'ia-thread-list' },
          data.items.map((other) =>
            h(
              'li',
              { class: other.id === item.id ? 'ia-current' : null, 'aria-current': other.id === item.id ? 'true' : null },
              period(other),
              ' ',
              label('kind', other.kind),
              ' · ',
              other.id === item.id
                ? h('strong', { text: other.subject })
                : h('a', { href: interactionHref(other.id), text: other.subject }),
              ' ',
              stateBadge(other.state),
              other.outcome ? h('span', { class: 'muted ia-outcome', text: ` — ${other.outcome}` }) : null,
            ),
          ),
        ),
        ...(data.next_cursor
          ? [h('p', {}, h('a', { href: `#/interactions?thread_id=${encodeURIComponent(item.thread_id)}`, i18n: 'ia.card.threadAll' }))]
          : []),
      );
    })
    .catch((error) => {
      if (error.name !== 'AbortError') box.replaceChildren(errorBox(error));
    });
  return box;
}

// The label of each field an event sets (others show their name).
const FIELD_KEYS = new Set([
  'kind',
  'direction',
  'state',
  'importance',
  'subject',
  'description',
  'content',
  'start',
  'end',
  'counterparty_id',
  'contact_person_id',
  'responsible',
  'participants',
  'third_parties',
  'basis',
  'project',
  'source',
  'reminder',
  'reminder_at',
  'outcome',
  'outcome_code',
  'completed_at',
  'reason',
  'cancelled_at',
  'previous_start',
  'on',
  'follow_up_of',
  'thread_id',
]);
const SKIPPED = new Set(['interaction_id', 'created_by', 'created_at', 'thread_id']);
const USERS = new Set(['responsible', 'participants']);
const VALUES = new Set(['kind', 'direction', 'state', 'importance']);
const ISO_MOMENT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

function history(item, env, sources, signal) {
  const box = h('div', { class: 'ia-history' }, loading());
  api
    .get(`${env.url}/history`, { signal })
    .then(({ data }) => {
      box.replaceChildren(
        scrollable(
          h(
            'table',
            { class: 'data-table ia-history-table' },
            h('caption', { class: 'visually-hidden', i18n: 'ia.card.history' }),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['ia.history.when', 'ia.history.who', 'ia.history.what', 'ia.history.changes'].map((key) =>
                  h('th', { scope: 'col', i18n: key }),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              data.items.map((entry) =>
                h(
                  'tr',
                  { dataset: { event: entry.event } },
                  h('td', {}, dateTime(entry.at)),
                  h('td', {}, entry.actor ? userLabel(entry.actor) : '—'),
                  h('td', { i18n: `ia.event.${entry.event}` }),
                  h('td', {}, changes(entry.changes, sources, item)),
                ),
              ),
            ),
          ),
        ),
      );
    })
    .catch((error) => {
      if (error.name !== 'AbortError') box.replaceChildren(errorBox(error));
    });
  return box;
}

function changes(fields, sources, item) {
  const shown = Object.entries(fields || {}).filter(
    ([name, value]) => !SKIPPED.has(name) && value !== null && value !== '' && !(Array.isArray(value) && !value.length),
  );
  if (!shown.length) return '—';
  return h(
    'ul',
    { class: 'cp-changes' },
    shown.map(([name, value]) =>
      h(
        'li',
        {},
        h('span', { class: 'cp-change-label', i18n: FIELD_KEYS.has(name) ? `ia.field.${name}` : null, text: name }),
        ': ',
        changeValue(name, value, sources, item),
      ),
    ),
  );
}

function changeValue(name, value, sources, item) {
  if (name === 'counterparty_id') return value === item.counterparty_id ? counterpartyCell(item) : String(value);
  if (name === 'contact_person_id') return personCell(value);
  if (name === 'follow_up_of') return h('a', { href: interactionHref(value), i18n: 'ia.card.previous' });
  if (USERS.has(name)) return Array.isArray(value) ? usersLabel(value) : userLabel(value);
  if (VALUES.has(name)) return label(name, value);
  if (name === 'reminder') return reminderText(value);
  if (name === 'source') return ref.nameOf(sources, value);
  if (typeof value === 'string' && ISO_MOMENT.test(value)) return dateTime(value);
  if (typeof value === 'string' && ISO_DAY.test(value)) return date(value);
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return value.title || value.id || JSON.stringify(value);
  return String(value);
}
