// Back-testing the ABC rule (GET /api/v1/analytics/abc/backtest): the rule's measure, shares and
// currency run over past periods and compared (backtest.js draws the page). Open to whoever may read
// the ABC analysis (a sales manager: their access groups' customers, as the API limits them).
import { h } from '../../core/dom.js';
import { field } from '../../core/forms.js';
import { t } from '../../core/i18n.js';
import { CLASSES, COLORS, classBadge, currencyInput, measureSelect, sharesField } from './abc-parts.js';
import { backtestPage } from './backtest.js';

export const path = '/analytics/abc/backtest';
export const titleKey = 'analytics.backtest.abc.title';
export const permission = 'counterparty:read';

const RULE = {
  path,
  url: '/api/v1/analytics/abc/backtest',
  titleKey,
  text: (name) => `analytics.backtest.abc.${name}`,
  backPath: '/analytics/abc',
  stepName: 'periodicity',
  countName: 'periods',
  categories: CLASSES,
  colors: COLORS,
  cell: classBadge,
  label: (c) => t('analytics.abc.class', { class: c }),
  parameters(query, index) {
    const by = measureSelect(query.get('by'));
    const currency = currencyInput(index.reporting_currency, query.get('currency'));
    const shares = sharesField(query.get('shares'));
    return {
      elements: [
        h(
          'div',
          { class: 'analytics-params' },
          field({ name: 'by', label: 'analytics.abc.by', control: by }),
          field({ name: 'currency', label: 'analytics.abc.currency', control: currency }),
        ),
        shares.element,
      ],
      check: (form) => shares.check(form),
      values: () => ({ by: by.value, shares: shares.value(), currency: currency.value.trim().toUpperCase() }),
    };
  },
  customers: (item, c) => item.classes[c].customers,
  value: (item, c) => item.classes[c].value,
  moved: (item, before, now) => item.movement?.find((m) => m.previous === before && m.class === now)?.customers ?? 0,
};

export function render(ctx) {
  return backtestPage(ctx, RULE);
}
