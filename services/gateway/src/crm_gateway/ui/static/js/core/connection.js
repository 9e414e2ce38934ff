// The "no connection" banner. A failed fetch (the server is down or the network is gone) shows it
// at once and starts polling /health; requests that are safe to repeat wait for restored() and are
// retried, so a page recovers by itself when the server comes back. Nothing is swallowed: the banner
// stays until the server answers.
import { h } from './dom.js';

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 5000;

let isLost = false;
let waiters = [];

function banner() {
  return document.getElementById('connection-banner');
}

/** Called on every failed fetch. */
export function lost() {
  if (isLost) return;
  isLost = true;
  const el = banner();
  el.replaceChildren(h('span', { i18n: 'connection.lost' }));
  el.hidden = false;
  poll(FIRST_DELAY_MS);
}

/** Called on every response: the server is reachable. */
export function ok() {
  if (!isLost) return;
  isLost = false;
  banner().hidden = true;
  const ready = waiters;
  waiters = [];
  for (const resolve of ready) resolve();
}

/** A promise that resolves when the server answers again (at once when it is not lost). */
export function restored() {
  if (!isLost) return Promise.resolve();
  return new Promise((resolve) => waiters.push(resolve));
}

function poll(delay) {
  setTimeout(async () => {
    if (!isLost) return;
    try {
      const response = await fetch('/health', { cache: 'no-store' });
      // 503 means "up but still starting": keep the banner until the CRM is ready.
      if (response.ok) {
        ok();
        return;
      }
    } catch {
      // still down: poll again below
    }
    poll(Math.min(delay * 2, MAX_DELAY_MS));
  }, delay);
}
