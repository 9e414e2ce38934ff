// The administrators' reference catalogs (contact kinds, groups, regions, properties, ...), read
// once per page load and shared by every page. Retired entries are kept (a record still shows the
// name of a retired code) but `active()` leaves them out of what forms offer. A page that changes
// a catalog calls `forget(catalog)` so the next read fetches it again. An entry named by language
// (the entries a new installation starts with) shows its name in the user's language.
import * as api from './api.js';
import { language, onLanguageChange } from './i18n.js';

const BASE = '/api/v1/reference';
const PAGE = 500;
const cache = new Map(); // catalog -> Promise<entries>
onLanguageChange(() => cache.clear());

/**
 * Every entry of `catalog`, retired ones too, sorted by name: [{ code, name, attributes, retired }].
 * A failed read is not cached, so the next call tries again.
 */
export function catalog(name) {
  if (!cache.has(name)) {
    const loading = fetchAll(name);
    cache.set(name, loading);
    loading.catch(() => cache.delete(name));
  }
  return cache.get(name);
}

/** Several catalogs at once: { [name]: entries }. */
export async function catalogs(names) {
  const lists = await Promise.all(names.map(catalog));
  return Object.fromEntries(names.map((name, i) => [name, lists[i]]));
}

/**
 * Like `catalogs`, but a catalog that cannot be read is empty: for pages that only show names
 * (a code then stands for its name) and must not fail because of it.
 */
export async function catalogsOrEmpty(names) {
  const lists = await Promise.all(names.map((name) => catalog(name).catch(() => [])));
  return Object.fromEntries(names.map((name, i) => [name, lists[i]]));
}

/** Drop the cached copy of `catalog` (or of every catalog). */
export function forget(name) {
  if (name === undefined) cache.clear();
  else cache.delete(name);
}

/** The entries a form may offer: not retired. */
export function active(entries) {
  return entries.filter((e) => !e.retired);
}

/** The entries that apply to `to` ('counterparty' or 'person'), by their `applies_to` attribute. */
export function applying(entries, to) {
  return entries.filter((e) => [undefined, null, 'both', to].includes(e.attributes?.applies_to));
}

/** The name of `code` in `entries`, or the code itself when the catalog does not have it. */
export function nameOf(entries, code) {
  return entries.find((e) => e.code === code)?.name ?? code;
}

/** The entry `code` of `entries`, or undefined. */
export function entryOf(entries, code) {
  return entries.find((e) => e.code === code);
}

/** The entry with `name` in the current language when it has one there. */
export function localName(entry) {
  const name = entry.names?.[language()];
  return name ? { ...entry, name } : entry;
}

async function fetchAll(name) {
  const entries = [];
  let cursor = null;
  do {
    const { data } = await api.get(`${BASE}/${encodeURIComponent(name)}`, {
      query: { include_retired: true, limit: PAGE, cursor },
    });
    entries.push(...data.items.map(localName));
    cursor = data.next_cursor;
  } while (cursor);
  return entries;
}
