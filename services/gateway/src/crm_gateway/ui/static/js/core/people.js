// Users by name, never by id: one resolver for every feature. Ids asked for in the same moment are
// resolved in one GET /api/v1/directory/users?ids=… (at most 200 at a time) and kept for the page
// load; search as you type goes to GET /api/v1/directory/users?q=.
import * as api from './api.js';
import { h } from './dom.js';
import * as session from './session.js';

const DIRECTORY = '/api/v1/directory/users';
const BATCH = 200;
const known = new Map(); // id -> Promise<{id, username, name, active} | null>
let waiting = new Map(); // id -> resolve, for the batch being gathered
let scheduled = false;

/** The user `id` as { id, username, name, active }, or null when the directory has no such user. */
export function user(id) {
  if (!id) return Promise.resolve(null);
  if (!known.has(id)) {
    const me = session.current();
    if (me?.id === id && me.name) {
      known.set(id, Promise.resolve({ id, username: me.username, name: me.name, active: true }));
    } else {
      known.set(id, new Promise((resolve) => waiting.set(id, resolve)));
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(flush);
      }
    }
  }
  return known.get(id);
}

/** Several users at once: Map id -> user (unknown ids left out). */
export async function users(ids) {
  const found = await Promise.all([...new Set(ids)].map(user));
  return new Map(found.filter(Boolean).map((u) => [u.id, u]));
}

async function flush() {
  scheduled = false;
  const batch = waiting;
  waiting = new Map();
  const ids = [...batch.keys()];
  for (let i = 0; i < ids.length; i += BATCH) {
    const part = ids.slice(i, i + BATCH);
    let items = [];
    try {
      ({ items } = (await api.get(DIRECTORY, { query: { ids: part.join(',') } })).data);
    } catch {
      // Shown as the id this time; a later page load asks again.
      for (const id of part) known.delete(id);
    }
    const byId = new Map(items.map((u) => [u.id, u]));
    for (const id of part) batch.get(id)(byId.get(id) ?? null);
  }
}

/** Users whose name or username has words starting with the words of `q`, by name. */
export async function search(q, { limit = 10, signal } = {}) {
  const { data } = await api.get(DIRECTORY, { query: { q, limit }, signal });
  for (const found of data.items) if (!known.has(found.id)) known.set(found.id, Promise.resolve(found));
  return data.items;
}

/** How a user is named on screen: the name, else the username, else the id. */
export function displayName(found, id) {
  return found?.name || found?.username || id || '';
}

/** A span with the name of user `id` (the id until the directory answers; '—' for none). */
export function userName(id) {
  if (!id) return h('span', { text: '—' });
  const me = session.current();
  const span = h('span', { class: 'user-ref', dataset: { userId: id }, text: me?.id === id ? displayName(me, id) : id });
  user(id).then((found) => {
    if (!found) return;
    span.textContent = displayName(found, id);
    span.title = found.username;
    if (!found.active) span.classList.add('user-inactive');
  });
  return span;
}

/** Several user ids as names, comma separated ('—' for none). */
export function userNames(ids) {
  if (!ids?.length) return h('span', { text: '—' });
  return h(
    'span',
    {},
    ids.flatMap((id, i) => (i ? [', ', userName(id)] : [userName(id)])),
  );
}
