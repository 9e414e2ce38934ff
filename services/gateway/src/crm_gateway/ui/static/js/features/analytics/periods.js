// Periods the ABC page offers, as YYYY-MM-DD days in the user's time zone: the last full month,
// quarter and year, and this year up to today.
import { today } from '../../core/dates.js';

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
