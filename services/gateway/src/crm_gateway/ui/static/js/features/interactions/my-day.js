// The home page, "My day": what the signed-in user should do today. Four parts, each read on its
// own so one failing does not hide the others:
//   - today's planned interactions the user takes part in (GET /interactions/calendar for today),
//   - the overdue ones: planned before today and neither done nor cancelled (GET /interactions/overdue),
//   - the counterparties the user is main manager of with no completed interaction for QUIET_DAYS days
//     (GET /interactions/last-contacts?quiet_days=),
//   - the user's counterparties that changed lately (GET /interactions/last-contacts?sort=changed).
// Each empty part says what to do next.
import * as api from '../../core/api.js';
import { addDays, today } from '../../core/dates.js';
import { date, dateTime, daysAgo, h } from '../../core/dom.js';
import * as session from '../../core/session.js';
import { errorBox, heading } from '../../core/widgets.js';
import { API, dayStart, interactionHref, label, localDay, timeOfDay } from './interaction-fields.js';

export const path = '/my-day';
export const titleKey = 'ia.home.title';
export const permission = 'interaction:read';

export const QUIET_DAYS = 30;
const CHANGED_DAYS = 14;
const SHOWN = 10;

export async function render(ctx) {
  const me = session.current();
  const day = today();
  const canPlan = session.can('interaction:write');
  const [todays, overdue, quiet, changed] = await Promise.all([
    settle(
      api.get(`${API}/calendar`, {
        query: { from: dayStart(day).toISOString(), to: dayStart(addDays(day, 1)).toISOString() },
        signal: ctx.signal,
      }),
    ),
    settle(api.get(`${API}/overdue`, { query: { before: dayStart(day).toISOString(), limit: 50 }, signal: ctx.signal })),
    settle(api.get(`${API}/last-contacts`, { query: { quiet_days: QUIET_DAYS, limit: SHOWN }, signal: ctx.signal })),
    settle(api.get(`${API}/last-contacts`, { query: { sort: 'changed', limit: SHOWN }, signal: ctx.signal })),
  ]);
  const counterparties = me?.id ? `#/counterparties?${new URLSearchParams({ manager: me.id })}` : '#/counterparties';

  return h(
    'section',
    { class: 'home' },
    h(
      'div',
      { class: 'page-head' },
      h('div', {}, heading('ia.home.title'), h('p', { class: 'muted home-date' }, date(day))),
      canPlan ? h('div', { class: 'form-actions' }, h('a', { class: 'button primary', href: '#/interactions/new', i18n: 'ia.home.plan' })) : null,
    ),
    h(
      'div',
      { class: 'home-grid' },
      part('today', 'ia.home.today', todays, (data) =>
        data.items.length
          ? h('ol', { class: 'home-list' }, data.items.map((item) => interactionEntry(item, { time: true })))
          : empty('ia.home.today.empty', canPlan ? { href: '#/interactions/new', key: 'ia.home.plan' } : { href: '#/calendar', key: 'ia.home.openCalendar' }),
      ),
      part('overdue', 'ia.home.overdue', overdue, (data) =>
        data.items.length
          ? [
              h('ol', { class: 'home-list' }, data.items.map((item) => interactionEntry(item, { time: false }))),
              data.truncated ? h('p', { class: 'muted', i18n: 'ia.home.overdue.more' }) : null,
            ]
          : empty('ia.home.overdue.empty', { href: '#/calendar', key: 'ia.home.openCalendar' }),
      ),
      part('quiet', 'ia.home.quiet', quiet, (data) =>
        data.items.length
          ? [
              h('ul', { class: 'home-list' }, data.items.map(quietEntry)),
              data.items.length >= SHOWN || data.truncated
                ? h('p', {}, h('a', { href: counterparties, i18n: 'ia.home.allMine' }))
                : null,
            ]
          : empty('ia.home.quiet.empty', { href: counterparties, key: 'ia.home.allMine' }, { days: QUIET_DAYS }),
        { days: QUIET_DAYS },
      ),
      part('changed', 'ia.home.changed', changed, (data) => {
        const since = Date.now() - CHANGED_DAYS * 86_400_000;
        const recent = data.items.filter((c) => c.changed_at && new Date(c.changed_at).getTime() >= since);
        if (recent.length) return h('ul', { class: 'home-list' }, recent.map(changedEntry));
        return session.can('counterparty:write')
          ? empty('ia.home.changed.empty', { href: '#/counterparties/new', key: 'ia.home.newCounterparty' })
          : empty('ia.home.changed.empty', { href: counterparties, key: 'ia.home.allMine' });
      }, { days: CHANGED_DAYS }),
    ),
  );
}

/** A request's answer, or the error, so one part failing leaves the others on screen. */
async function settle(request) {
  try {
    return { data: (await request).data };
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    return { error };
  }
}

function part(name, titleKey, answer, body, args) {
  return h(
    'section',
    { class: `panel home-part home-${name}`, dataset: { part: name } },
    h('h2', { i18n: titleKey, i18nArgs: args }),
    answer.error ? errorBox(answer.error) : body(answer.data),
  );
}

function empty(key, next, args) {
  return h(
    'div',
    { class: 'empty home-empty' },
    h('p', { i18n: key, i18nArgs: args }),
    next ? h('p', {}, h('a', { href: next.href, i18n: next.key })) : null,
  );
}

/** An interaction: its time (today) or date (overdue), subject, kind and counterparty. */
function interactionEntry(item, { time }) {
  const when = time
    ? h('time', { datetime: item.start, class: 'home-when', text: timeOfDay(item.start) })
    : h('span', { class: 'home-when' }, dateTime(item.start));
  const late = new Date(item.start).getTime() < Date.now();
  return h(
    'li',
    { class: `home-entry ia-importance-${item.importance}`, dataset: { id: item.id } },
    when,
    ' ',
    h('a', { href: interactionHref(item.id), text: item.subject }),
    h(
      'span',
      { class: 'muted home-meta' },
      ' · ',
      label('kind', item.kind),
      item.counterparty_name ? ` · ${item.counterparty_name}` : null,
    ),
    time && late ? h('span', { class: 'badge badge-warn', i18n: 'ia.home.late' }) : null,
  );
}

function counterpartyLink(item) {
  return h('a', { href: `#/counterparties/${encodeURIComponent(item.counterparty_id)}`, text: item.counterparty_name });
}

/** A counterparty gone quiet: how long since the last contact, or that there never was one. */
function quietEntry(item) {
  return h(
    'li',
    { class: 'home-entry', dataset: { id: item.counterparty_id } },
    counterpartyLink(item),
    ' ',
    item.last_contact
      ? h(
          'span',
          { class: 'muted' },
          '— ',
          h('span', { class: 'home-ago' }, daysAgo(item.last_contact)),
          ' (',
          h('a', { href: interactionHref(item.last_interaction.id) }, date(localDay(new Date(item.last_contact)))),
          ')',
        )
      : h('span', { class: 'muted home-never', i18n: 'ia.home.never' }),
  );
}

function changedEntry(item) {
  return h(
    'li',
    { class: 'home-entry', dataset: { id: item.counterparty_id } },
    counterpartyLink(item),
    ' ',
    h('span', { class: 'muted' }, '— ', dateTime(item.changed_at)),
  );
}

