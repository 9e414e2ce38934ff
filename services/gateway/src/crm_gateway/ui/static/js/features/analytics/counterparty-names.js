// The names of the counterparties that ABC rows are linked to, read from contacts one card at a time
// (contacts has no lookup of many ids) with a few requests in flight, and remembered for the session
// of the page. A counterparty the user may not see, or that is gone, has no name (null).
import * as api from '../../core/api.js';

const IN_FLIGHT = 6;
const names = new Map(); // id -> Promise<string | null>
const waiting = [];
let running = 0;

function pump() {
  while (running < IN_FLIGHT && waiting.length) {
    const { id, resolve } = waiting.shift();
    running += 1;
    api
      .get(`/api/v1/counterparties/${encodeURIComponent(id)}`)
      .then(({ data }) => resolve(data?.name ?? null))
      .catch(() => resolve(null))
      .finally(() => {
        running -= 1;
        pump();
      });
  }
}

/** The name of counterparty `id`, or null when the user cannot see it. */
export function counterpartyName(id) {
  if (!names.has(id)) {
    names.set(
      id,
      new Promise((resolve) => {
        waiting.push({ id, resolve });
        pump();
      }),
    );
  }
  return names.get(id);
}
