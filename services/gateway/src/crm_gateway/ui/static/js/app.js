// The shell: header (navigation, language, user), the router loop, and the session rules
// (sign-in required, 401 → sign-in page). The pages come from the features in features/ (each
// with a manifest, listed in features/index.js; see features/README.md); the shell and core/
// know none of them by name, except the home page and the sign-in page.
import * as api from './core/api.js';
import { h, translateElement, translateTree } from './core/dom.js';
import { homePath, navLinks, registerFeatures, routes, slot } from './core/features.js';
import { LANGUAGES, isLanguage, language, onLanguageChange, setLanguage, t } from './core/i18n.js';
import * as notFoundPage from './core/not-found.js';
import * as router from './core/router.js';
import * as session from './core/session.js';
import { errorBox, loading } from './core/widgets.js';
import features from './features/index.js';

const SIGN_IN = '/sign-in';

/** Where the logo and '/' lead: the features' home page the user may open (see core/features.js). */
function home() {
  return homePath(session.can) ?? '/account';
}

// Before anything is shown: the features' pages, header links, texts and slot entries.
registerFeatures(features);

let renderCount = 0; // each navigation gets a number; a slower, older render must not overwrite a newer one
let leave = null; // AbortController of the page on screen: aborted when the user navigates away
let titleKey = null;
let titleText = null;
// A language chosen on the sign-in page is carried into the profile on sign-in, instead of the
// profile's older choice replacing it.
let languageChosenSignedOut = false;

function setupHeader() {
  const select = document.getElementById('language');
  select.replaceChildren(
    ...LANGUAGES.map((lang) => h('option', { value: lang.code, lang: lang.code, text: lang.name })),
  );
  select.value = language();
  select.addEventListener('change', () => chooseLanguage(select.value));
  document.getElementById('sign-out').addEventListener('click', signOut);
  setupMenu();
  onLanguageChange((code) => {
    select.value = code;
    translateTree(document.body);
    updateTitle();
    fitNav();
  });
  session.onChange(renderHeader);
  renderHeader();
}

// The header is one row. On a narrow screen (NARROW, as in app.css) the links fold into a menu that
// the Menu button opens; on a wider one the links that do not fit move, last first, into a "More"
// list. Choosing a link, Escape or a click elsewhere closes either.
const NARROW = window.matchMedia('(max-width: 60rem)');

function setupMenu() {
  const header = document.querySelector('.app-header');
  const button = document.getElementById('menu-toggle');
  const more = document.getElementById('nav-more');
  const moreMenu = document.getElementById('nav-more-menu');
  const open = (isOpen) => {
    header.classList.toggle('menu-open', isOpen);
    button.setAttribute('aria-expanded', String(isOpen));
  };
  const openMore = (isOpen) => {
    moreMenu.hidden = !isOpen;
    more.setAttribute('aria-expanded', String(isOpen));
  };
  const closeAll = () => {
    open(false);
    openMore(false);
  };
  button.addEventListener('click', () => open(!header.classList.contains('menu-open')));
  more.addEventListener('click', () => openMore(moreMenu.hidden));
  header.addEventListener('click', (event) => {
    if (event.target.closest('#nav a, #nav-more-menu a')) closeAll();
  });
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    if (header.classList.contains('menu-open')) button.focus();
    else if (!moreMenu.hidden) more.focus();
    closeAll();
  });
  document.addEventListener('click', (event) => {
    if (!header.contains(event.target)) closeAll();
  });
  window.addEventListener('hashchange', closeAll);
  NARROW.addEventListener('change', () => {
    closeAll();
    fitNav();
  });
  window.addEventListener('resize', fitNav);
  translateElement(button);
  translateElement(more);
}

/** Fold the header links that do not fit in the row into the "More" list (wide screens only). */
function fitNav() {
  const nav = document.getElementById('nav');
  const more = document.getElementById('nav-more');
  const moreMenu = document.getElementById('nav-more-menu');
  const links = [...nav.querySelectorAll('a')];
  for (const link of links) link.classList.remove('nav-folded');
  more.hidden = true;
  if (!NARROW.matches) {
    // Reading scrollWidth lays the row out again, so each step sees the effect of the last.
    for (let i = links.length - 1; i > 0 && nav.scrollWidth > nav.clientWidth; i -= 1) {
      more.hidden = false;
      links[i].classList.add('nav-folded');
    }
  }
  const folded = links.filter((link) => link.classList.contains('nav-folded'));
  moreMenu.replaceChildren(...folded.map((link) => link.cloneNode(true)));
  if (!folded.length) moreMenu.hidden = true;
  more.classList.toggle('nav-more-current', folded.some((link) => link.hasAttribute('aria-current')));
}

/** The user picked a language: switch now, and remember it in the profile when signed in. */
async function chooseLanguage(code) {
  setLanguage(code);
  if (!session.isSignedIn()) {
    languageChosenSignedOut = true;
    return;
  }
  try {
    await api.patch('/api/v1/me', { language: code });
    session.update({ language: code });
  } catch (error) {
    // The switch already happened on screen; failing to store it is not worth interrupting for.
    console.warn('could not save the language in the profile', error);
  }
}

function renderHeader() {
  const user = session.current();
  const nav = document.getElementById('nav');
  // The features' header links, in their order, when the user may open the page they lead to.
  const links = navLinks()
    .filter((link) => session.isSignedIn() && (!link.page.permission || session.can(link.page.permission)))
    .map((link) => h('a', { href: `#${link.path}`, i18n: link.key, dataset: { path: link.path } }));
  nav.replaceChildren(...links);
  // The features' tools in the header ('header/tools' slot, e.g. the caller-id box), for a user who
  // may use them.
  const tools = slot('header/tools').filter(
    (entry) => session.isSignedIn() && (!entry.permission || session.can(entry.permission)),
  );
  document.getElementById('header-slots').replaceChildren(
    ...tools.map((entry) => h('div', { class: 'header-slot', dataset: { slot: entry.name } }, entry.render())),
  );
  document.getElementById('menu-toggle').hidden = links.length === 0;
  nav.setAttribute('aria-label', t('nav.label'));
  nav.dataset.i18nAttrs = JSON.stringify({ 'aria-label': 'nav.label' });
  markCurrentNav();
  const name = document.getElementById('user-name');
  name.hidden = !user;
  name.textContent = user ? user.name || user.username || '' : '';
  document.getElementById('sign-out').hidden = !user;
  translateElement(document.getElementById('sign-out'));
  fitNav();
}

function markCurrentNav() {
  const path = router.location().path;
  for (const link of document.querySelectorAll('#nav a, #nav-more-menu a')) {
    const active = path === link.dataset.path || path.startsWith(`${link.dataset.path}/`);
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const current = document.querySelector('#nav-more-menu a[aria-current]');
  document.getElementById('nav-more').classList.toggle('nav-more-current', Boolean(current));
}

async function signOut() {
  try {
    await session.signOut();
  } catch (error) {
    // Signed out locally either way; the server's session expires on its own.
    console.warn('sign-out request failed', error);
  }
  router.navigate(SIGN_IN);
}

function updateTitle() {
  const text = titleText ?? (titleKey ? t(titleKey) : '');
  document.title = text ? `${text} — CRM` : 'CRM';
}

/** Show the page for the current hash. */
async function render() {
  const { path, query } = router.location();
  if (!path || path === '/') {
    router.navigate(session.isSignedIn() ? home() : SIGN_IN, { replace: true });
    return;
  }
  const number = ++renderCount;
  leave?.abort();
  leave = new AbortController();
  markCurrentNav();

  const found = router.resolve(routes(), path);
  const page = found?.page;
  if (page && !page.anonymous && !session.isSignedIn()) {
    router.navigate(`${SIGN_IN}?next=${encodeURIComponent(path + (query.toString() ? `?${query}` : ''))}`, {
      replace: true,
    });
    return;
  }
  // A page the user's roles do not allow looks like one that does not exist.
  const allowed = page && (!page.permission || session.can(page.permission));
  const shown = allowed ? page : notFoundPage;
  titleKey = shown.titleKey;
  titleText = null;
  updateTitle();

  const main = document.getElementById('main');
  main.replaceChildren(loading());
  const ctx = {
    path,
    params: found?.params ?? {},
    query,
    signal: leave.signal,
    navigate: router.navigate,
    afterSignIn,
    chooseLanguage,
    setTitle(text) {
      if (number !== renderCount) return;
      titleText = text;
      updateTitle();
    },
  };
  let content;
  try {
    content = await shown.render(ctx);
  } catch (error) {
    if (error.name === 'AbortError' || number !== renderCount) return;
    if (error instanceof api.ApiError && error.status === 401) return; // already on its way to sign-in
    content =
      error instanceof api.ApiError && (error.status === 404 || error.status === 403)
        ? notFoundPage.render(ctx)
        : errorBox(error);
  }
  if (number !== renderCount) return;
  main.replaceChildren(content);
  // Move focus to the new heading so keyboard and screen-reader users start at the new page.
  (main.querySelector('h1') ?? main).focus({ preventScroll: true });
}

/** 401 anywhere: the session is gone; go to sign-in and come back here afterwards. */
api.onUnauthorized(() => {
  session.forget();
  const { path, query } = router.location();
  if (path === SIGN_IN) return;
  const next = path + (query.toString() ? `?${query}` : '');
  router.navigate(`${SIGN_IN}?next=${encodeURIComponent(next)}`, { replace: true });
});

/** After a successful sign-in: apply or store the language, then continue where the user was going. */
async function afterSignIn(user, next) {
  if (languageChosenSignedOut) {
    languageChosenSignedOut = false;
    await chooseLanguage(language());
  } else if (isLanguage(user?.language)) {
    setLanguage(user.language);
  }
  const back = next && next.startsWith('/') && next !== '/' && !next.startsWith(SIGN_IN);
  router.navigate(back ? next : home(), { replace: true });
}

async function start() {
  setupHeader();
  const main = document.getElementById('main');
  main.replaceChildren(loading());
  try {
    const user = await session.load();
    if (user && isLanguage(user.language)) setLanguage(user.language);
  } catch (error) {
    main.replaceChildren(errorBox(error));
    return;
  }
  window.addEventListener('hashchange', render);
  await render();
}

start();
