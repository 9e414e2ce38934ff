// One counterparty, in tabs: general, contact information, contact persons, properties and
// categories, information sources, history, and the tabs other features add through the slot
// 'counterparty-card/tabs' (interactions does). The tab is part of the address
// (#/counterparties/<id>/history, see counterparty-card-tab.js), so a reload or a shared link opens
// the same tab; switching tabs changes the address without loading the card again.
// `?min_position=` (from a create or change answer's X-Commit-Position) makes the server wait until
// its view includes that write, so a change shows at once.
import * as api from '../../core/api.js';
import { h, uid } from '../../core/dom.js';
import { slot } from '../../core/features.js';
import * as ref from '../../core/reference-cache.js';
import * as session from '../../core/session.js';
import { errorBox, linkButton, loading } from '../../core/widgets.js';
import { API, abcBadge, stageBadge, xyzBadge } from './counterparty-fields.js';
import * as contactsTab from './counterparty-tabs/contacts.js';
import * as generalTab from './counterparty-tabs/general.js';
import * as historyTab from './counterparty-tabs/history.js';
import * as personsTab from './counterparty-tabs/persons.js';
import * as propertiesTab from './counterparty-tabs/properties.js';
import * as sourcesTab from './counterparty-tabs/sources.js';

export const path = '/counterparties/:id';
export const titleKey = 'counterparty.title';
export const permission = 'counterparty:read';

/**
 * The card's own tabs. Another feature adds one through the slot 'counterparty-card/tabs' with an
 * entry like these: { name (in the address), labelKey, order, render(record, env) → Node }.
 * `env`: { id, etag, catalogs, canWrite, query, signal, reload(tabName, position) }.
 */
const OWN_TABS = [
  { name: 'general', labelKey: 'cp.tab.general', order: 10, render: generalTab.render },
  { name: 'contacts', labelKey: 'cp.tab.contacts', order: 20, render: contactsTab.render },
  { name: 'persons', labelKey: 'cp.tab.persons', order: 30, render: personsTab.render },
  { name: 'properties', labelKey: 'cp.tab.properties', order: 40, render: propertiesTab.render },
  { name: 'sources', labelKey: 'cp.tab.sources', order: 50, render: sourcesTab.render },
  { name: 'history', labelKey: 'cp.tab.history', order: 70, render: historyTab.render },
];

function tabs() {
  return [...OWN_TABS, ...slot('counterparty-card/tabs')].sort((a, b) => a.order - b.order);
}
const CATALOGS = ['groups', 'regions', 'activity-kinds', 'contact-kinds', 'categories', 'properties', 'sources'];

export function render(ctx) {
  return renderCard(ctx, 'general');
}

/** The card with `tab` open (an unknown tab opens the general one). */
export async function renderCard(ctx, tab) {
  const id = ctx.params.id;
  const base = `/counterparties/${encodeURIComponent(id)}`;
  // A 404 (also for a record outside the user's access groups) becomes the not-found page in app.js.
  const [{ data, etag }, catalogs] = await Promise.all([
    api.get(`${API}/${encodeURIComponent(id)}`, {
      query: { min_position: ctx.query.get('min_position') },
      signal: ctx.signal,
    }),
    ref.catalogsOrEmpty(CATALOGS),
  ]);
  ctx.setTitle(data.name);
  const canWrite = session.can('counterparty:write');

  const env = {
    id,
    etag: etag || `"${data.version}"`,
    catalogs,
    canWrite,
    query: ctx.query,
    signal: ctx.signal,
    /** Show the card again, on `tab`, once the view includes commit `position`. */
    reload(tabName, position) {
      const where = tabName === 'general' ? base : `${base}/${tabName}`;
      ctx.navigate(`${where}${position === null || position === undefined ? '' : `?min_position=${position}`}`);
    },
  };

  const tablist = h('div', { class: 'tabs', role: 'tablist', i18nAttrs: { 'aria-label': 'cp.tabs.label' } });
  const panels = h('div', { class: 'tab-panels' });
  const entries = tabs().map(({ name, labelKey, render: renderTab }) => {
    const tabId = uid(`tab-${name}`);
    const panelId = uid(`panel-${name}`);
    const link = h('a', {
      role: 'tab',
      id: tabId,
      href: `#${name === 'general' ? base : `${base}/${name}`}`,
      'aria-controls': panelId,
      i18n: labelKey,
      dataset: { tab: name },
    });
    const panel = h('section', {
      class: 'tab-panel',
      role: 'tabpanel',
      id: panelId,
      'aria-labelledby': tabId,
      tabindex: '0',
    });
    tablist.append(link);
    panels.append(panel);
    return { name, renderTab, link, panel, rendered: false };
  });

  function open(name, { push = false, focus = false } = {}) {
    const chosen = entries.find((e) => e.name === name) ?? entries[0];
    for (const entry of entries) {
      const selected = entry === chosen;
      entry.link.setAttribute('aria-selected', String(selected));
      entry.link.tabIndex = selected ? 0 : -1;
      entry.panel.hidden = !selected;
    }
    if (push) window.history.pushState(null, '', chosen.link.getAttribute('href'));
    if (focus) chosen.link.focus();
    if (!chosen.rendered) {
      chosen.rendered = true;
      fill(chosen);
    }
  }

  async function fill(entry) {
    entry.panel.replaceChildren(loading());
    try {
      entry.panel.replaceChildren(await entry.renderTab(data, env));
    } catch (error) {
      if (error.name === 'AbortError') return;
      entry.panel.replaceChildren(errorBox(error));
    }
  }

  tablist.addEventListener('click', (event) => {
    const link = event.target.closest('[role=tab]');
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    open(link.dataset.tab, { push: link.getAttribute('aria-selected') !== 'true' });
  });
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab goes into the panel.
  tablist.addEventListener('keydown', (event) => {
    const index = entries.findIndex((e) => e.link === document.activeElement);
    if (index < 0) return;
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: entries.length - 1 - index };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = entries[(index + moves[event.key] + entries.length) % entries.length];
    open(next.name, { push: true, focus: true });
  });

  open(entries.some((e) => e.name === tab) ? tab : 'general');

  return h(
    'article',
    { class: 'card', dataset: { etag: env.etag } },
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/counterparties', i18n: 'counterparties.title' })),
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: '-1', text: data.name }),
      abcBadge(data),
      stageBadge(data),
      xyzBadge(data),
      data.archived ? h('span', { class: 'badge badge-warn cp-archived-badge', i18n: 'cp.archived.badge' }) : null,
      canWrite && !data.archived ? linkButton(`#${base}/edit`, 'counterparty.edit', 'button primary') : null,
    ),
    data.archived ? generalTab.archivedBanner(data, env) : null,
    tablist,
    panels,
  );
}
