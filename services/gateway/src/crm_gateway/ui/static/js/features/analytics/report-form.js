// What every analytics report page shares around its own parameters: the optional "as the CRM knew
// it at" moment (a field, its value for the address and the API's `as_of`, and a note in the report's
// summary when one is set), the asking of the report (one request at a time, its refusal at the form's
// fields or as a box), the links to the report's files with the parameters on screen, and the warning
// of the facts left out for lack of a currency rate.
import * as api from '../../core/api.js';
import { dateTime, h } from '../../core/dom.js';
import { busy, field, input, showErrors } from '../../core/forms.js';
import { language } from '../../core/i18n.js';
import { errorBox } from '../../core/widgets.js';

/**
 * The `as_of` field: a moment typed in the browser's time zone, to the second; `initial` is the
 * address's `as_of` (ISO 8601). Returns { field, value() (the moment in UTC as ISO 8601, '' for now) }.
 * Named as the API names it, so its 422 lands beside it.
 */
export function asOfField(initial = '') {
  const control = input({ type: 'datetime-local', step: '1' });
  control.value = localMoment(initial);
  return {
    field: field({ name: 'as_of', label: 'analytics.asOf.label', control, hint: 'analytics.asOf.hint' }),
    value: () => {
      if (!control.value) return '';
      const moment = new Date(control.value);
      return Number.isNaN(moment.getTime()) ? '' : moment.toISOString();
    },
  };
}

/** "As the CRM knew it at …" for a report read as of `asOf` (ISO 8601); null when it is read now. */
export function asOfNote(asOf) {
  if (!asOf) return null;
  return h(
    'p',
    { class: 'analytics-as-of', role: 'note', dataset: { asOf } },
    h('span', { i18n: 'analytics.asOf.note' }),
    ' ',
    dateTime(asOf),
  );
}

/**
 * The asking of a report page's `form`, one request at a time. Returns `ask(fetch)`: it aborts the
 * request asked before (if it still runs), makes the new one's AbortController (aborted too when the
 * page is left: `ctx.signal`) and, with the form busy, awaits `fetch(controller)` — which keeps the
 * controller with its parameters before it awaits anything, asks the API with `controller.signal` and
 * draws the answer in `results`. A refusal empties `results`: a 422 is shown at the form's fields (named
 * as the API names them), another refusal as an error box in `results` (or as the node `refused(error)`
 * gives for it, when it gives one); an aborted request shows nothing.
 */
export function reportRequests(ctx, form, results, { refused = () => null } = {}) {
  let asked = null; // the AbortController of the request asked last
  return async function ask(fetch) {
    asked?.abort();
    const controller = new AbortController();
    asked = controller;
    ctx.signal.addEventListener('abort', () => controller.abort());
    busy(form, true);
    try {
      await fetch(controller);
    } catch (error) {
      if (error.name === 'AbortError') return;
      results.replaceChildren();
      if (error instanceof api.ApiError && error.status === 422) showErrors(form, error);
      else results.replaceChildren(refused(error) ?? errorBox(error));
    } finally {
      busy(form, false);
    }
  };
}

/**
 * The report's files at `url` + '.csv' (and '.xlsx' in the language on screen, unless `xlsx` is
 * false) with `params` (empty values left out, in their order) as their query.
 */
export function downloads(url, params, { xlsx = true } = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v !== null && v !== undefined));
  const links = [h('a', { class: 'button', href: `${url}.csv?${query}`, download: '', i18n: 'analytics.abc.csv' })];
  if (xlsx) {
    const workbook = new URLSearchParams(query);
    workbook.set('lang', language());
    links.push(' ', h('a', { class: 'button', href: `${url}.xlsx?${workbook}`, download: '', i18n: 'analytics.abc.xlsx' }));
  }
  return h('p', { class: 'analytics-downloads' }, links);
}

/**
 * The facts an answer left out for lack of a currency rate (its `without_rate`: currency, facts,
 * earliest date), as a warning naming the reporting `currency`; null when there are none.
 */
export function withoutRateNote(withoutRate, currency) {
  if (!withoutRate?.length) return null;
  return h(
    'div',
    { class: 'alert alert-warning analytics-without-rate', role: 'note' },
    h('p', {
      i18n: 'analytics.abc.withoutRate',
      i18nArgs: { list: withoutRate.map((w) => `${w.currency}: ${w.facts} (${w.earliest})`).join(', '), currency },
    }),
  );
}

/** A moment (ISO 8601) as the value of a datetime-local input in the browser's time zone; '' if none. */
function localMoment(text) {
  if (!text) return '';
  const moment = new Date(text);
  if (Number.isNaN(moment.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}T${pad(moment.getHours())}:${pad(moment.getMinutes())}:${pad(moment.getSeconds())}`;
}
