// Small choices a user makes in the UI (say, "show completed interactions in the calendar"),
// remembered in this browser for that user: localStorage under 'crm.pref.<user id>.<name>'.
// Where storage is disabled the choice lasts as long as the page.
import * as session from './session.js';

const memory = new Map();

function keyOf(name) {
  return `crm.pref.${session.current()?.id ?? 'anonymous'}.${name}`;
}

/** The remembered value of `name` for the signed-in user (JSON), or `fallback`. */
export function preference(name, fallback) {
  const key = keyOf(name);
  try {
    const stored = window.localStorage.getItem(key);
    if (stored !== null) return JSON.parse(stored);
  } catch {
    // disabled storage or a value that is not JSON: fall back to what this page remembers
  }
  return memory.has(key) ? memory.get(key) : fallback;
}

/** Remember `value` (anything JSON can hold) as the signed-in user's `name`. */
export function setPreference(name, value) {
  const key = keyOf(name);
  memory.set(key, value);
  try {
    window.localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage disabled: kept in memory only
  }
}
