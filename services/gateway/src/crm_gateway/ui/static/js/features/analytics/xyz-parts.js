// What the stages and XYZ page (xyz.js) and its back-test (xyz-backtest.js) share: the rule's
// parameters as form fields (the window's periodicity and number of periods, the measure, the X and
// Y bands, the active periods from which a customer is regular, the currency), the stages and
// classes with their colours, and the XYZ class badge.
import { h } from '../../core/dom.js';
import { field, input, select } from '../../core/forms.js';
import { currencyInput } from './abc-parts.js';

export const PERIODICITIES = ['day', 'week', 'decade', 'month', 'quarter', 'half-year', 'year'];
export const MEASURES = ['revenue', 'revenue_without_vat', 'profit', 'quantity', 'sales', 'intervals'];
export const STAGES = ['potential', 'one-time', 'regular', 'lost'];
export const XYZ = ['X', 'Y', 'Z'];
export const STAGE_COLORS = { potential: '#8a94a6', 'one-time': '#9a6c00', regular: '#1f7a4d', lost: '#a23b3b' };
export const XYZ_COLORS = { X: '#1f7a4d', Y: '#9a6c00', Z: '#5f6b78' };
const DEFAULTS = { periodicity: 'month', periods: '6', by: 'revenue', x: '10', y: '25', regular_periods: '2' };
const WHOLE_NUMBERS = ['periods', 'regular_periods'];

/**
 * The XYZ rule's parameters (all but the day `to`) as form fields named as the API names them, filled
 * from `query` (the address) or the API's defaults. Returns { rows (two rows of fields and the
 * bands' hint), values() ({ name: text }, the currency in capitals), body() (the same for a JSON
 * body: whole numbers as numbers, empty ones left out) }.
 */
export function xyzRuleFields(query, reportingCurrency) {
  const wanted = (name) => query.get(name) || DEFAULTS[name] || '';
  const periodicity = select(PERIODICITIES.map((p) => ({ value: p, label: `analytics.periodicity.${p}` })));
  const periods = input({ type: 'number', min: '2', max: '1000', step: '1', inputmode: 'numeric' });
  const by = select(MEASURES.map((m) => ({ value: m, label: `analytics.measure.${m}` })));
  const x = input({ inputmode: 'decimal', size: '6' });
  const y = input({ inputmode: 'decimal', size: '6' });
  const regular = input({ type: 'number', min: '2', max: '1000', step: '1', inputmode: 'numeric' });
  const currency = currencyInput(reportingCurrency, query.get('currency'));
  const controls = { periodicity, periods, by, x, y, regular_periods: regular };
  for (const [name, el] of Object.entries(controls)) el.value = wanted(name);
  if (!PERIODICITIES.includes(periodicity.value)) periodicity.value = DEFAULTS.periodicity;
  if (!MEASURES.includes(by.value)) by.value = DEFAULTS.by;
  controls.currency = currency;

  function values() {
    const params = {};
    for (const [name, el] of Object.entries(controls)) params[name] = el.value.trim();
    params.currency = params.currency.toUpperCase();
    return params;
  }

  function body() {
    const found = {};
    for (const [name, value] of Object.entries(values())) {
      if (value !== '') found[name] = WHOLE_NUMBERS.includes(name) && /^\d+$/.test(value) ? Number(value) : value;
    }
    return found;
  }

  const rows = [
    h(
      'div',
      { class: 'analytics-params' },
      field({ name: 'periodicity', label: 'analytics.xyz.periodicity', control: periodicity }),
      field({ name: 'periods', label: 'analytics.xyz.periods', control: periods }),
      field({ name: 'by', label: 'analytics.abc.by', control: by }),
      field({ name: 'currency', label: 'analytics.abc.currency', control: currency }),
    ),
    h(
      'div',
      { class: 'analytics-params' },
      field({ name: 'x', label: 'analytics.xyz.x', control: x }),
      field({ name: 'y', label: 'analytics.xyz.y', control: y }),
      field({ name: 'regular_periods', label: 'analytics.xyz.regularPeriods', control: regular }),
    ),
    h('p', { class: 'field-hint', i18n: 'analytics.xyz.bandsHint' }),
  ];
  return { rows, values, body };
}

export function xyzBadge(c) {
  return h('span', { class: `analytics-class xyz-class-${c.toLowerCase()}`, text: c });
}
