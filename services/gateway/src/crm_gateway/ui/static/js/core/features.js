// The registry of the UI's features. Each feature (a folder in features/, with a manifest
// feature.js; see features/README.md) brings
//   pages     page modules: path (hash route with :params), titleKey, render(ctx), and optionally
//             permission or anonymous
//   nav       header links: { path, key, order }; shown when the user may open the page at `path`,
//             ordered by `order` across all features
//   messages  { bg, en }: its texts, merged into the core dictionaries (a key belongs to one place)
//   slots     what it adds to other features' pages: { 'counterparty-card/tabs': [entry, ...] }, each
//             entry with an `order`; the page that has the slot reads it with slot(name). The shell
//             has one: 'header/tools', { name, order, permission?, render() → node } in the header
//   home      optionally { path, order }: a page offered as the home page (the logo and '/' lead to
//             the one with the lowest order that the user may open; else the first header link)
// app.js registers the list in features/index.js once, before the first page renders. Core
// modules never import a feature; a feature imports core modules and its own files only.
import { addMessages } from './i18n.js';
import { resolve, routesOf } from './router.js';

const pages = [];
const nav = [];
const homes = [];
const slots = new Map();
let routeTable = [];

/** Register the features' pages, links, texts and slot entries (once, at start). */
export function registerFeatures(features) {
  for (const feature of features) {
    const where = `feature '${feature.name}'`;
    if (!feature.name || !Array.isArray(feature.pages)) throw new Error(`${where}: needs a name and a pages list`);
    for (const page of feature.pages) {
      const complete = typeof page.path === 'string' && page.path.startsWith('/') && page.titleKey;
      if (!complete || typeof page.render !== 'function') {
        throw new Error(`${where}: a page needs path, titleKey and render (${page.path})`);
      }
      if (pages.some((other) => other.path === page.path)) throw new Error(`${where}: ${page.path} is taken`);
      pages.push(page);
    }
    for (const [code, messages] of Object.entries(feature.messages ?? {})) addMessages(code, messages, where);
    for (const [name, entries] of Object.entries(feature.slots ?? {})) {
      slots.set(name, [...(slots.get(name) ?? []), ...entries]);
    }
    nav.push(...(feature.nav ?? []).map((link) => ({ ...link, feature: feature.name })));
    if (feature.home) homes.push({ ...feature.home, feature: feature.name });
  }
  routeTable = routesOf(pages);
  for (const link of [...nav, ...homes]) {
    link.page = resolve(routeTable, link.path)?.page;
    if (!link.page) throw new Error(`feature '${link.feature}': the link ${link.path} names no page`);
  }
  nav.sort((a, b) => a.order - b.order);
  homes.sort((a, b) => a.order - b.order);
}

/**
 * The path of the home page for a user whose permissions `can(permission)` tells: the first home
 * page the user may open, else the first header link; null when there is neither.
 */
export function homePath(can) {
  const allowed = (link) => !link.page.permission || can(link.page.permission);
  return (homes.find(allowed) ?? nav.find(allowed))?.path ?? null;
}

/** The routes of every registered page, for router.resolve(). */
export function routes() {
  return routeTable;
}

/** The header links in order: { path, key, page }. */
export function navLinks() {
  return nav;
}

/** What the features put in the slot `name`, ordered by their `order`. */
export function slot(name) {
  return [...(slots.get(name) ?? [])].sort((a, b) => a.order - b.order);
}
