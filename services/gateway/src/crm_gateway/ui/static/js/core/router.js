// Hash routing: '#/counterparties/42/edit?x=1' → the page whose path is '/counterparties/:id/edit',
// params { id: '42' }, query URLSearchParams('x=1'). Hash routes need no server support and work
// from a bookmark or a reload.

/** Turn '/counterparties/:id' into a matcher. */
function compile(path) {
  const parts = path.split('/').filter(Boolean);
  return {
    parts,
    // More literal segments win: '/counterparties/new' beats '/counterparties/:id', whatever the
    // order of the page list, so adding a page cannot shadow another.
    score: parts.filter((part) => !part.startsWith(':')).length,
  };
}

function matchParts(parts, segments) {
  if (parts.length !== segments.length) return null;
  const params = {};
  for (let i = 0; i < parts.length; i += 1) {
    if (parts[i].startsWith(':')) params[parts[i].slice(1)] = decodeURIComponent(segments[i]);
    else if (parts[i] !== segments[i]) return null;
  }
  return params;
}

/** The current hash as { path, query }; an empty hash is ''. */
export function location() {
  const raw = window.location.hash.replace(/^#/, '');
  const [path, search = ''] = raw.split('?', 2);
  return { path: path || '', query: new URLSearchParams(search) };
}

/** The routes of a list of page modules (modules are frozen, so the matcher is kept beside them). */
export function routesOf(pages) {
  return pages.map((page) => ({ page, ...compile(page.path) }));
}

/** Find the page for `path`; { page, params } or null when none matches. */
export function resolve(routes, path) {
  const segments = path.split('/').filter(Boolean);
  let best = null;
  for (const route of routes) {
    const params = matchParts(route.parts, segments);
    if (params && (!best || route.score > best.score)) best = { page: route.page, params, score: route.score };
  }
  return best;
}

/** Go to a path like '/counterparties/42'. `replace` keeps the back button from returning here. */
export function navigate(path, { replace = false } = {}) {
  const hash = `#${path}`;
  if (replace || window.location.hash === hash) {
    // Neither replaceState nor setting the same hash fires 'hashchange': render explicitly.
    if (replace) window.history.replaceState(null, '', hash);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    window.location.hash = hash;
  }
}

/** Build '#/a/b?x=1' from a path and a query object (empty values dropped). */
export function href(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== '') params.set(key, value);
  }
  const text = params.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

/** Change the query in the address bar without rendering the page again (search as you type). */
export function replaceQuery(path, query) {
  window.history.replaceState(null, '', href(path, query));
}
