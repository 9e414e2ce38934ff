// Charts, drawn by Chart.js (static/vendor/chart.js/chart.umd.min.js, MIT, vendored as one file by
// scripts/vendor-ui.sh). The library is loaded on first use, so pages without charts never fetch
// it; it needs neither eval nor inline styles, so the strict CSP stays as it is. A chart is a
// canvas with role="img" and a label; a page also shows its numbers as a table for those who do not
// see it. Its texts follow a language switch: `spec()` is asked again and the chart redrawn.
import { h } from './dom.js';
import { onLanguageChange } from './i18n.js';

let library = null;

/** Chart.js, loaded once (its UMD file sets globalThis.Chart). */
export function loadChartLibrary() {
  library ??= import('../../vendor/chart.js/chart.umd.min.js').then(() => globalThis.Chart);
  return library;
}

/**
 * A chart of Chart.js's configuration `spec()` ({ type, data, options }), in a box sized by CSS
 * (`className`). `labelKey` (and `labelArgs`) name it for screen readers. Destroyed when `signal`
 * aborts. Returns { element, ready } (`ready` resolves to the Chart once drawn).
 */
export function chart({ spec, labelKey, labelArgs, className = 'chart', signal }) {
  const canvas = h('canvas', { role: 'img', i18nAttrs: { 'aria-label': labelKey }, i18nArgs: labelArgs });
  const element = h('div', { class: className }, canvas);
  let instance = null;
  const ready = loadChartLibrary().then((Chart) => {
    if (signal?.aborted) return null;
    instance = new Chart(canvas, spec());
    element.dataset.drawn = 'true';
    return instance;
  });
  const stop = onLanguageChange(() => {
    if (!instance) return;
    const next = spec();
    instance.data = next.data;
    instance.options = next.options;
    instance.update();
  });
  signal?.addEventListener('abort', () => {
    stop();
    instance?.destroy();
    instance = null;
  });
  return { element, ready };
}
