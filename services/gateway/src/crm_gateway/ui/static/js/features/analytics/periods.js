// Periods the ABC page offers, as YYYY-MM-DD days in the user's time zone: the last full month,
// quarter and year, and this year up to today; and the period as form fields (a preset and two days).
import { today } from '../../core/dates.js';
import { field, input, select, setFieldError } from '../../core/forms.js';

export const PRESETS = ['lastMonth', 'lastQuarter', 'lastYear', 'thisYear', 'custom'];
export const DEFAULT_PRESET = 'lastQuarter';

const pad = (n) => String(n).padStart(2, '0');
const day = (y, m, d) => {
  const date = new Date(y, m, d);
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
};

/** { from, to } of a preset, counted from `now` (a Date); null for 'custom'. */
export function periodOf(preset, now = new Date()) {
  const y = now.getFullYear();
  const m = now.getMonth();
  if (preset === 'lastMonth') return { from: day(y, m - 1, 1), to: day(y, m, 0) };
  if (preset === 'lastQuarter') {
    const start = Math.floor(m / 3) * 3 - 3;
    return { from: day(y, start, 1), to: day(y, start + 3, 0) };
  }
  if (preset === 'lastYear') return { from: day(y - 1, 0, 1), to: day(y - 1, 11, 31) };
  if (preset === 'thisYear') return { from: day(y, 0, 1), to: today() };
  return null;
}

/** The preset whose period is exactly { from, to }, else 'custom'. */
export function presetOf(from, to, now = new Date()) {
  return PRESETS.find((p) => {
    const period = periodOf(p, now);
    return period && period.from === from && period.to === to;
  }) ?? 'custom';
}

/**
 * The period as form fields named as the API names them (`from`, `to`; the preset `period`), kept in
 * step: a preset fills the days, typed days choose the preset they match. `initial` { from, to }, else
 * the default preset. Returns { fields, check(form) (marks a missing day or a reversed period at its
 * field; true when right), values() ({ from, to }) }.
 */
export function periodFields(initial = {}) {
  const preset = select(PRESETS.map((p) => ({ value: p, label: `analytics.period.${p}` })));
  const from = input({ type: 'date', required: true });
  const to = input({ type: 'date', required: true });
  const period = periodOf(DEFAULT_PRESET);
  from.value = initial.from || period.from;
  to.value = initial.to || period.to;
  preset.value = presetOf(from.value, to.value);
  preset.addEventListener('change', () => {
    const chosen = periodOf(preset.value);
    if (chosen) {
      from.value = chosen.from;
      to.value = chosen.to;
    }
  });
  for (const el of [from, to]) el.addEventListener('input', () => (preset.value = presetOf(from.value, to.value)));

  function check(form) {
    let right = true;
    for (const [name, el] of [['from', from], ['to', to]]) {
      if (!el.value) {
        setFieldError(form, name, 'analytics.abc.dateNeeded');
        right = false;
      }
    }
    if (right && to.value < from.value) {
      setFieldError(form, 'to', 'analytics.abc.toBeforeFrom');
      right = false;
    }
    return right;
  }

  const fields = [
    field({ name: 'period', label: 'analytics.abc.period', control: preset }),
    field({ name: 'from', label: 'analytics.abc.from', control: from, required: true }),
    field({ name: 'to', label: 'analytics.abc.to', control: to, required: true }),
  ];
  return { fields, check, values: () => ({ from: from.value, to: to.value }) };
}
