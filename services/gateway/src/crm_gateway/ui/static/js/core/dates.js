// Calendar dates as the API writes them (YYYY-MM-DD, in the user's time zone) and as people read them.
import { LANGUAGES, language } from './i18n.js';

/** Today as YYYY-MM-DD in the user's time zone. */
export function today() {
  return isoDate(new Date());
}

function isoDate(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** A YYYY-MM-DD date plus `days` days. */
export function addDays(day, days) {
  const [y, m, d] = day.split('-').map(Number);
  return isoDate(new Date(y, m - 1, d + days));
}

/** A YYYY-MM-DD date in the current language (re-rendered pages follow a language switch). */
export function formatDate(day) {
  if (!day) return '';
  const [y, m, d] = String(day).split('-').map(Number);
  if (!y || !m || !d) return String(day);
  const locale = LANGUAGES.find((l) => l.code === language())?.locale;
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium' }).format(new Date(y, m - 1, d));
}
