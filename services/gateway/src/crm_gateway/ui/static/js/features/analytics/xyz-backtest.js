// Back-testing the stage and XYZ rule (GET /api/v1/analytics/xyz/backtest): the rule of the stages
// and XYZ page (its window, measure, bands, regular periods and currency) evaluated at the last days
// of consecutive past periods and compared (backtest.js draws the page). A customer's standing is its
// stage, or its XYZ class when it is regular. Open to whoever may read that page (a sales manager:
// their access groups' customers, as the API limits them).
import { h } from '../../core/dom.js';
import { t } from '../../core/i18n.js';
import { backtestPage } from './backtest.js';
import { STAGE_COLORS, XYZ, XYZ_COLORS, xyzBadge, xyzRuleFields } from './xyz-parts.js';

export const path = '/analytics/xyz/backtest';
export const titleKey = 'analytics.backtest.xyz.title';
export const permission = 'counterparty:read';

/** The standings in the API's order: the stages, with X, Y and Z in place of "regular". */
const STANDINGS = ['potential', 'one-time', 'X', 'Y', 'Z', 'lost'];
const isClass = (s) => XYZ.includes(s);

const RULE = {
  path,
  url: '/api/v1/analytics/xyz/backtest',
  titleKey,
  text: (name) => `analytics.backtest.xyz.${name}`,
  backPath: '/analytics/xyz',
  stepName: 'step',
  countName: 'runs',
  categories: STANDINGS,
  colors: { ...STAGE_COLORS, ...XYZ_COLORS, Y: '#2c5fa8' },
  cell: (s) => (isClass(s) ? xyzBadge(s) : h('span', { i18n: `analytics.stage.${s}` })),
  label: (s) => (isClass(s) ? t('analytics.abc.class', { class: s }) : t(`analytics.stage.${s}`)),
  parameters(query, index) {
    const rule = xyzRuleFields(query, index.reporting_currency);
    return { elements: rule.rows, check: () => true, values: rule.values };
  },
  customers: (item, s) => (isClass(s) ? item.classes[s] : item.stages[s]) ?? 0,
  value: (item, s) => item.values[s] ?? '0.00',
  moved: (item, before, now) => item.movement?.find((m) => m.previous === before && m.current === now)?.customers ?? 0,
};

export function render(ctx) {
  return backtestPage(ctx, RULE);
}
