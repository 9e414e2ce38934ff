// The one way the UI talks to the server. It adds the CSRF header to unsafe requests, turns
// problem+json answers into ApiError (with per-field messages for forms), sends a 401 to the
// sign-in page, and on a lost connection shows the banner and retries what is safe to retry.
import * as connection from './connection.js';

const CSRF_KEY = 'crm.csrf';
const SAFE = new Set(['GET', 'HEAD']);
let unauthorizedHandler = () => {};
let memoryToken = null; // used when web storage is disabled

/** An HTTP error answer: `problem` is the problem+json body, `errors` its [{ field, message, type }]. */
export class ApiError extends Error {
  constructor(status, problem, headers) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.headers = headers;
    this.errors = Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/** The request could not reach the server and was not retried (it was not safe to repeat). */
export class ConnectionLost extends Error {}

/**
 * The CSRF token belongs to the session cookie, which every tab of the browser shares, so it is
 * kept where every tab can read it: localStorage, with a copy in sessionStorage. A card opened in
 * a new tab can then save (/api/v1/me does not hand the token out again), and a sign-in in another
 * tab, which replaces the shared cookie, replaces the token too. Only this origin's scripts can
 * read either; without the HttpOnly cookie the token is worthless; sign-out removes it.
 */
export function setCsrfToken(token) {
  memoryToken = token || null;
  for (const storage of storages()) {
    try {
      if (token) storage.setItem(CSRF_KEY, token);
      else storage.removeItem(CSRF_KEY);
    } catch {
      // storage disabled: the token lives only as long as this page
    }
  }
}

/** The session's CSRF token, for a request not sent through request() (an upload with progress). */
export function csrfToken() {
  for (const storage of storages()) {
    try {
      const token = storage.getItem(CSRF_KEY);
      if (token) return token;
    } catch {
      // storage disabled: fall through to the copy in memory
    }
  }
  return memoryToken;
}

function storages() {
  try {
    return [window.localStorage, window.sessionStorage];
  } catch {
    return [];
  }
}

/** Set by app.js: what to do when the server says the session is gone. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/** A random key for Idempotency-Key: makes a retried create or change a no-op on the server. */
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Send a request; resolves to { status, data, etag, position, headers } or throws ApiError /
 * ConnectionLost. Options: body (JSON), query (object, empty values dropped), ifMatch,
 * idempotencyKey, signal, allowUnauthorized (a 401 is the answer, e.g. wrong password).
 */
export async function request(method, path, options = {}) {
  const { body, query, ifMatch, idempotencyKey, signal, allowUnauthorized = false } = options;
  const url = withQuery(path, query);
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (!SAFE.has(method)) {
    const token = csrfToken();
    if (token) headers['X-CSRF-Token'] = token;
  }
  if (ifMatch) headers['If-Match'] = ifMatch;
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  const init = {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
    signal,
  };
  // Repeating a GET is harmless; an unsafe request is repeated only with an idempotency key.
  const retryable = SAFE.has(method) || Boolean(idempotencyKey);

  for (;;) {
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      connection.lost();
      if (!retryable) throw new ConnectionLost(error.message);
      await connection.restored();
      continue;
    }
    connection.ok();
    return finish(response, allowUnauthorized);
  }
}

async function finish(response, allowUnauthorized) {
  const type = response.headers.get('Content-Type') || '';
  const data = response.status === 204 || !type.includes('json') ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data, response.headers);
    if (response.status === 401 && !allowUnauthorized) unauthorizedHandler(error);
    throw error;
  }
  const position = response.headers.get('X-Commit-Position');
  return {
    status: response.status,
    data,
    etag: response.headers.get('ETag'),
    position: position === null ? null : Number(position),
    headers: response.headers,
  };
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export const get = (path, options) => request('GET', path, options);
export const post = (path, body, options = {}) => request('POST', path, { ...options, body });
export const patch = (path, body, options = {}) => request('PATCH', path, { ...options, body });
export const del = (path, options) => request('DELETE', path, options);
