// What the interaction pages share: the API path, the kinds, directions, states, importances and
// reminder lead times, how times, users and parties are shown, and the conversion between the API's
// ISO times (UTC) and the browser's datetime-local inputs (local time).
import { dateTime, h } from '../../core/dom.js';
import { LANGUAGES, language } from '../../core/i18n.js';
import { userName, userNames } from '../../core/people.js';

export const API = '/api/v1/interactions';
export const KINDS = ['call', 'meeting', 'email', 'letter', 'other'];
export const DIRECTIONS = ['incoming', 'outgoing'];
export const STATES = ['planned', 'completed', 'cancelled'];
export const IMPORTANCES = ['high', 'medium', 'low'];
/** Reminder lead times in minutes, as the server accepts them. */
export const REMINDER_LEADS = [5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 4320, 5760, 10080];

/** The href of an interaction's card. */
export function interactionHref(id) {
  return `#/interactions/${encodeURIComponent(id)}`;
}

/** A translated label of a value of `what` (kind, direction, state, importance). */
export function label(what, value) {
  return h('span', { i18n: `ia.${what}.${value}` });
}

/** The state as a badge: planned (plain), completed (ok), cancelled (muted). */
export function stateBadge(state) {
  return h('span', { class: `badge ia-state ia-state-${state}`, i18n: `ia.state.${state}` });
}

/** A reminder lead time as text ("15 minutes before", "1 day before"); "—" for none. */
export function reminderText(minutes) {
  if (minutes === null || minutes === undefined) return h('span', { text: '—' });
  return h('span', { i18n: `ia.reminder.${minutes}` });
}

function locale() {
  return LANGUAGES.find((l) => l.code === language())?.locale;
}

/** Only the time of day of an ISO moment, in the current language ("14:30"). */
export function timeOfDay(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale(), { timeStyle: 'short' }).format(date);
}

/** "start – end" (the end's time only when on the same day; no end when it equals the start). */
export function period(item) {
  const start = dateTime(item.start);
  if (!item.end || item.end === item.start) return h('span', { class: 'ia-period' }, start);
  const sameDay = new Date(item.start).toDateString() === new Date(item.end).toDateString();
  const end = sameDay
    ? h('time', { datetime: item.end, text: timeOfDay(item.end) })
    : dateTime(item.end);
  return h('span', { class: 'ia-period' }, start, ' – ', end);
}

/** An ISO moment as a datetime-local value in the browser's time zone ('' for none). */
export function toLocalInput(value) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  return `${localDay(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value (local time) as an ISO moment in UTC; null when empty or unreadable. */
export function fromLocalInput(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** A date as YYYY-MM-DD in the browser's time zone. */
export function localDay(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Local midnight of a YYYY-MM-DD day as a Date. */
export function dayStart(day) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y, m - 1, d);
}

function pad(n) {
  return String(n).padStart(2, '0');
}

/** The next full hour from now, as a datetime-local value: the usual start of a planned one. */
export function nextFullHour() {
  const d = new Date();
  d.setMinutes(0, 0, 0);
  d.setHours(d.getHours() + 1);
  return toLocalInput(d.toISOString());
}

/** Now to the minute, as a datetime-local value: the usual start of one that just happened. */
export function nowMinute() {
  const d = new Date();
  d.setSeconds(0, 0);
  return toLocalInput(d.toISOString());
}

// -- users ---------------------------------------------------------------------------------------

/** A user id shown as the user's name (the core's resolver, the same in every feature). */
export function userLabel(id) {
  return userName(id);
}

/** Several user ids as names, comma separated ("—" for none). */
export function usersLabel(ids) {
  return userNames(ids);
}

// -- parties ---------------------------------------------------------------------------------------

/** The counterparty of an interaction as a link to its card ("—" without one). */
export function counterpartyCell(item) {
  if (!item.counterparty_id) return h('span', { text: '—' });
  return h('a', {
    href: `#/counterparties/${encodeURIComponent(item.counterparty_id)}`,
    text: item.counterparty_name || item.counterparty_id,
  });
}

/** A contact person as a link with the name, once read (the id when it cannot be read). */
export function personCell(id) {
  if (!id) return h('span', { text: '—' });
  const link = h('a', { href: `#/persons/${encodeURIComponent(id)}`, text: id });
  api
    .get(`/api/v1/persons/${encodeURIComponent(id)}`)
    .then(({ data }) => {
      link.textContent = data.erased ? '—' : data.display_name || id;
    })
    .catch(() => {
      // not visible to this user, or gone: the id stands for it
    });
  return link;
}

/** Ids or names typed as "a, b; c" or one per line: distinct, in order. */
export function splitList(text, separators = /[,;\n]+/) {
  return [...new Set(text.split(separators).map((s) => s.trim()).filter(Boolean))];
}

/** The column titles of an interactions table; `withCounterparty: false` leaves its column out. */
export function interactionColumns({ withCounterparty = true } = {}) {
  return [
    'ia.field.when',
    'ia.field.kind',
    'ia.field.subject',
    withCounterparty ? 'ia.field.counterparty' : null,
    'ia.field.responsible',
    'ia.field.importance',
    'ia.field.state',
  ]
    .filter(Boolean)
    .map((key) => h('th', { scope: 'col', i18n: key }));
}

/** One row of an interactions table (the list, the card's tab). */
export function interactionRow(item, { withCounterparty = true } = {}) {
  return h(
    'tr',
    { class: `ia-row ia-row-${item.state}`, dataset: { id: item.id } },
    h('td', {}, period(item)),
    h('td', {}, label('kind', item.kind), h('span', { class: 'muted' }, ' · ', label('direction', item.direction))),
    h(
      'td',
      {},
      h('a', { href: interactionHref(item.id), text: item.subject }),
      item.outcome ? h('div', { class: 'muted ia-outcome', text: item.outcome }) : null,
    ),
    withCounterparty ? h('td', {}, counterpartyCell(item)) : null,
    h('td', {}, userLabel(item.responsible)),
    h('td', {}, label('importance', item.importance)),
    h('td', {}, stateBadge(item.state)),
  );
}
