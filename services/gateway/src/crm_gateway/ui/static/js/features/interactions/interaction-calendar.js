// The calendar of planned interactions of one user (responsible or taking part): a day, a week
// (Monday first) or a month, over GET /api/v1/interactions/calendar; "show completed" adds the
// completed ones (remembered per user in this browser). The signed-in user's by default;
// heads of sales and administrators (who see every access group) may pick another manager. View,
// day and user are in the address (#/calendar?view=week&date=2025-06-02&user=…); each entry links to
// the interaction's card.
import * as api from '../../core/api.js';
import { addDays, today } from '../../core/dates.js';
import { h } from '../../core/dom.js';
import { LANGUAGES, language } from '../../core/i18n.js';
import { API, dayStart, interactionHref, label, localDay, timeOfDay } from './interaction-fields.js';
import { userSelect } from './interaction-pickers.js';
import { href } from '../../core/router.js';
import { preference, setPreference } from '../../core/preferences.js';
import * as session from '../../core/session.js';
import { heading, linkButton } from '../../core/widgets.js';

export const path = '/calendar';
export const titleKey = 'ia.calendar.title';
export const permission = 'interaction:read';

const VIEWS = ['day', 'week', 'month'];
const SHOW_COMPLETED = 'calendar.showCompleted';
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export async function render(ctx) {
  const view = VIEWS.includes(ctx.query.get('view')) ? ctx.query.get('view') : 'week';
  const day = DAY.test(ctx.query.get('date') || '') ? ctx.query.get('date') : today();
  const me = session.current();
  const mayPick = session.can('access-groups:all');
  const user = (mayPick && ctx.query.get('user')) || me?.id || '';
  const at = (changes) => {
    const query = { view, date: day, user: user === me?.id ? '' : user, ...changes };
    return href(path, query);
  };

  const { first, last, days } = windowOf(view, day);
  const withCompleted = preference(SHOW_COMPLETED, false) === true;
  const { data } = await api.get(`${API}/calendar`, {
    query: {
      from: dayStart(first).toISOString(),
      to: dayStart(addDays(last, 1)).toISOString(),
      user: user === me?.id ? '' : user,
      completed: withCompleted ? 'true' : '',
    },
    signal: ctx.signal,
  });
  const byDay = new Map(days.map((d) => [d, []]));
  for (const item of data.items) byDay.get(localDay(new Date(item.start)))?.push(item);

  let picker = null;
  if (mayPick) {
    picker = userSelect({ name: 'user', labelKey: 'ia.calendar.manager' });
    picker.fill(user);
    picker.onChange((chosen) => {
      if (chosen) ctx.navigate(at({ user: chosen === me?.id ? '' : chosen }).slice(1));
    });
  }

  const step = { day: 1, week: 7, month: 0 }[view];
  const previous = view === 'month' ? shiftMonth(day, -1) : addDays(day, -step);
  const next = view === 'month' ? shiftMonth(day, 1) : addDays(day, step);
  const toolbar = h(
    'div',
    { class: 'ia-cal-toolbar' },
    h(
      'div',
      { class: 'ia-cal-nav' },
      h('a', { class: 'button', href: at({ date: previous }), i18n: 'ia.calendar.previous', rel: 'prev' }),
      h('a', { class: 'button', href: at({ date: today() }), i18n: 'ia.calendar.today' }),
      h('a', { class: 'button', href: at({ date: next }), i18n: 'ia.calendar.next', rel: 'next' }),
    ),
    h('h2', { class: 'ia-cal-title', text: titleOf(view, day, first, last) }),
    h(
      'div',
      { class: 'ia-cal-views', role: 'group', i18nAttrs: { 'aria-label': 'ia.calendar.views' } },
      VIEWS.map((v) =>
        h('a', {
          class: v === view ? 'button primary' : 'button',
          href: at({ view: v }),
          'aria-current': v === view ? 'true' : null,
          i18n: `ia.calendar.view.${v}`,
        }),
      ),
    ),
  );

  const completedBox = h('input', { type: 'checkbox', checked: withCompleted });
  completedBox.addEventListener('change', () => {
    setPreference(SHOW_COMPLETED, completedBox.checked);
    ctx.navigate(at({}).slice(1));
  });
  const completedToggle = h(
    'label',
    { class: 'check ia-cal-completed' },
    completedBox,
    h('span', { i18n: 'ia.calendar.showCompleted' }),
  );

  const canPlan = session.can('interaction:write') && user === me?.id;
  let body;
  if (view === 'day') body = dayList(byDay.get(day) || [], day, canPlan);
  else body = grid(view, days, byDay, day, at, canPlan);

  return h(
    'section',
    { class: 'ia-calendar', dataset: { view, from: first, to: last } },
    h(
      'div',
      { class: 'page-head' },
      heading('ia.calendar.title'),
      h('div', { class: 'form-actions' }, linkButton('#/interactions', 'ia.calendar.list', 'button')),
    ),
    picker ? h('div', { class: 'filters ia-cal-user' }, picker.wrapper) : null,
    toolbar,
    completedToggle,
    data.truncated ? h('p', { class: 'alert alert-warning', i18n: 'ia.calendar.truncated' }) : null,
    data.items.length ? null : h('p', { class: 'empty ia-cal-empty', i18n: `ia.calendar.empty.${view}` }),
    body,
  );
}

/** The days a view shows around `day`: { first, last, days } (YYYY-MM-DD, both ends included). */
function windowOf(view, day) {
  let first = day;
  let last = day;
  if (view === 'week') {
    first = monday(day);
    last = addDays(first, 6);
  } else if (view === 'month') {
    const [y, m] = day.split('-').map(Number);
    first = monday(`${y}-${String(m).padStart(2, '0')}-01`);
    const end = localDay(new Date(y, m, 0)); // the month's last day
    last = addDays(monday(end), 6);
  }
  const days = [];
  for (let d = first; d <= last; d = addDays(d, 1)) days.push(d);
  return { first, last, days };
}

function monday(day) {
  const weekday = (dayStart(day).getDay() + 6) % 7; // Monday 0 … Sunday 6
  return addDays(day, -weekday);
}

function shiftMonth(day, months) {
  const [y, m] = day.split('-').map(Number);
  return localDay(new Date(y, m - 1 + months, 1));
}

function locale() {
  return LANGUAGES.find((l) => l.code === language())?.locale;
}

function format(day, options) {
  return new Intl.DateTimeFormat(locale(), options).format(dayStart(day));
}

function titleOf(view, day, first, last) {
  if (view === 'day') return format(day, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  if (view === 'month') return format(day, { month: 'long', year: 'numeric' });
  return `${format(first, { day: 'numeric', month: 'short' })} – ${format(last, { day: 'numeric', month: 'short', year: 'numeric' })}`;
}

/** One planned interaction as a link to its card: time, kind, subject and counterparty. */
function entry(item) {
  return h(
    'li',
    {
      class: `ia-cal-entry ia-importance-${item.importance}${item.state === 'completed' ? ' ia-cal-done' : ''}`,
      dataset: { id: item.id, state: item.state },
    },
    h(
      'a',
      { href: interactionHref(item.id) },
      h('time', { datetime: item.start, class: 'ia-cal-time', text: timeOfDay(item.start) }),
      ' ',
      h('span', { class: 'ia-cal-subject', text: item.subject }),
    ),
    h(
      'span',
      { class: 'ia-cal-meta muted' },
      item.state === 'completed' ? [label('state', item.state), ' · '] : null,
      label('kind', item.kind),
      item.counterparty_name ? ` · ${item.counterparty_name}` : null,
    ),
  );
}

function planLink(day) {
  return h('a', {
    class: 'button-quiet button-small ia-cal-plan',
    href: `#/interactions/new?${new URLSearchParams({ start: `${day}T09:00` })}`,
    i18n: 'ia.calendar.plan',
  });
}

function dayList(items, day, canPlan) {
  return h(
    'div',
    { class: 'panel ia-cal-day', dataset: { day } },
    items.length ? h('ol', { class: 'ia-cal-entries' }, items.map(entry)) : null,
    canPlan ? planLink(day) : null,
  );
}

function grid(view, days, byDay, day, at, canPlan) {
  const month = day.slice(0, 7);
  const now = today();
  const weekdays = days.slice(0, 7).map((d) => h('div', { class: 'ia-cal-weekday', 'aria-hidden': 'true', text: format(d, { weekday: 'short' }) }));
  return h(
    'div',
    { class: `ia-cal-grid ia-cal-${view}` },
    weekdays,
    days.map((d) => {
      const outside = view === 'month' && d.slice(0, 7) !== month;
      const items = byDay.get(d) || [];
      return h(
        'section',
        {
          class: `ia-cal-cell${outside ? ' ia-cal-outside' : ''}${d === now ? ' ia-cal-today' : ''}`,
          dataset: { day: d },
        },
        h(
          'h3',
          { class: 'ia-cal-date' },
          h('a', {
            href: at({ view: 'day', date: d }),
            text: format(d, view === 'week' ? { weekday: 'short', day: 'numeric', month: 'short' } : { day: 'numeric' }),
          }),
        ),
        items.length ? h('ol', { class: 'ia-cal-entries' }, items.map(entry)) : null,
        canPlan && view === 'week' ? planLink(d) : null,
      );
    }),
  );
}
