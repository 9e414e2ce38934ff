// Who is signed in, and what they may do. The server decides every permission; the UI only uses
// them to hide what the user could not use anyway.
import * as api from './api.js';

// Mirror of crm_shared.identity.ROLE_PERMISSIONS, used only when /me does not list permissions.
const ROLE_PERMISSIONS = {
  administrator: [
    'counterparty:read',
    'counterparty:write',
    'counterparty:export',
    'interaction:read',
    'interaction:write',
    'access-groups:all',
    'users:admin',
    'audit:read',
    'analytics:read',
    'trade-facts:write',
    'analytics:classify',
  ],
  head_of_sales: [
    'counterparty:read',
    'counterparty:write',
    'counterparty:export',
    'interaction:read',
    'interaction:write',
    'access-groups:all',
    'analytics:read',
    'trade-facts:write',
    'analytics:classify',
  ],
  sales_manager: ['counterparty:read', 'counterparty:write', 'interaction:read', 'interaction:write'],
  marketer: ['counterparty:read', 'counterparty:export', 'interaction:read', 'analytics:read'],
  read_only: ['counterparty:read', 'interaction:read'],
};

let user = null;
const listeners = new Set();

export function current() {
  return user;
}

export function isSignedIn() {
  return user !== null;
}

export function onChange(fn) {
  listeners.add(fn);
}

function set(next) {
  user = next;
  for (const fn of listeners) fn(user);
}

/** Whether the signed-in user's roles grant `permission`. */
export function can(permission) {
  if (!user) return false;
  if (Array.isArray(user.permissions)) return user.permissions.includes(permission);
  return (user.roles || []).some((role) => (ROLE_PERMISSIONS[role] || []).includes(permission));
}

/** Ask the server who we are; resolves to the user or null. */
export async function load() {
  try {
    const { data } = await api.get('/api/v1/me', { allowUnauthorized: true });
    adopt(data);
  } catch (error) {
    if (!(error instanceof api.ApiError) || error.status !== 401) throw error;
    set(null);
  }
  return user;
}

/** The /me or sign-in answer: a user, possibly with a fresh CSRF token. */
function adopt(data) {
  const me = data?.user ?? data;
  const token = data?.csrf_token ?? me?.csrf_token;
  if (token) api.setCsrfToken(token);
  set(me);
}

/** Sign in; throws ApiError (401 wrong credentials, 423 locked, 429 too many attempts). */
export async function signIn(username, password) {
  const { data } = await api.post('/api/v1/session', { username, password }, { allowUnauthorized: true });
  adopt(data);
  return user;
}

export async function signOut() {
  try {
    await api.del('/api/v1/session', { allowUnauthorized: true });
  } finally {
    forget();
  }
}

/** Drop the local session (after sign-out, or when the server answered 401). */
export function forget() {
  api.setCsrfToken(null);
  set(null);
}

/** Update the cached user after the account page changed it. */
export function update(changes) {
  if (user) set({ ...user, ...changes });
}
