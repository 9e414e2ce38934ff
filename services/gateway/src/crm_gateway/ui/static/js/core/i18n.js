// Translations. Each language is one flat dictionary: the core's texts (i18n/<code>.js here: the
// header, common buttons, errors, validation) merged with each feature's own
// (features/<name>/i18n/<code>.js, added by core/features.js through addMessages when the feature
// registers). A key belongs to one dictionary; a missing key falls back to English, then to the
// key itself, so a forgotten translation is visible but never breaks a page.
// To add a language: add i18n/<code>.js here and in every feature, and one entry to LANGUAGES.
import bg from './i18n/bg.js';
import en from './i18n/en.js';

export const LANGUAGES = [
  { code: 'bg', name: 'Български', locale: 'bg-BG', messages: { ...bg } },
  { code: 'en', name: 'English', locale: 'en-GB', messages: { ...en } },
];
const STORAGE_KEY = 'crm.language';
const byCode = new Map(LANGUAGES.map((lang) => [lang.code, lang]));
const english = byCode.get('en').messages;
const listeners = new Set();

let current = initialLanguage();
document.documentElement.lang = current;

function initialLanguage() {
  const stored = safeStorage(() => localStorage.getItem(STORAGE_KEY));
  if (byCode.has(stored)) return stored;
  for (const wanted of navigator.languages || [navigator.language]) {
    const code = String(wanted).slice(0, 2).toLowerCase();
    if (byCode.has(code)) return code;
  }
  return 'bg';
}

// localStorage throws in some privacy modes; the UI must still work, just without remembering.
function safeStorage(fn) {
  try {
    return fn();
  } catch {
    return null;
  }
}

/** The current language code ('bg' or 'en'). */
export function language() {
  return current;
}

/** Whether `code` names a language the UI has. */
export function isLanguage(code) {
  return byCode.has(code);
}

/** The BCP 47 locale for dates and numbers in the current language. */
function locale() {
  return byCode.get(current).locale;
}

/** Switch language, remember it, and tell listeners (they re-translate the page in place). */
export function setLanguage(code) {
  if (!byCode.has(code) || code === current) return;
  current = code;
  document.documentElement.lang = code;
  safeStorage(() => localStorage.setItem(STORAGE_KEY, code));
  for (const fn of listeners) fn(code);
}

/** Call `fn(code)` after every switch; returns a function that stops it. */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/**
 * Add a feature's texts in the language `code` (core/features.js does, for each registered
 * feature). A key that is already there keeps its first text; the second is reported.
 */
export function addMessages(code, messages, source = 'a feature') {
  const lang = byCode.get(code);
  if (!lang) {
    console.warn(`${source} has texts in '${code}', a language the UI does not have`);
    return;
  }
  for (const [key, text] of Object.entries(messages)) {
    if (key in lang.messages) console.warn(`${source} defines '${key}' (${code}) again; the first text stays`);
    else lang.messages[key] = text;
  }
}

/** The text for `key`, with `{name}` placeholders filled from `args`. */
export function t(key, args = {}) {
  const text = byCode.get(current).messages[key] ?? english[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in args ? String(args[name]) : whole));
}

/** Whether a key has a text in some language (used to prefer a translated message over the server's). */
export function has(key) {
  return key in english || key in byCode.get(current).messages;
}

/** A timestamp from the API, formatted for the current language. */
export function formatDateTime(value) {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(date);
}

/** How many whole days ago a timestamp was, as words of the current language ("40 days ago"). */
export function formatDaysAgo(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const days = Math.max(0, Math.floor((Date.now() - date.getTime()) / 86_400_000));
  return new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' }).format(-days, 'day');
}

/**
 * A decimal as the API writes it ("-1234567.50") in the current language ("-1 234 567,50"), digit for
 * digit: the text is never turned into a float, so no cent is lost or invented.
 */
export function formatDecimal(text) {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(text ?? ''));
  if (!match) return String(text ?? '');
  const parts = new Intl.NumberFormat(locale()).formatToParts(-12345.5);
  const part = (type, fallback) => parts.find((p) => p.type === type)?.value ?? fallback;
  const whole = match[2].replace(/\B(?=(\d{3})+(?!\d))/g, part('group', ','));
  return `${match[1] ? part('minusSign', '-') : ''}${whole}${match[3] ? part('decimal', '.') + match[3] : ''}`;
}
