// A tab of the counterparty card, addressable: #/counterparties/<id>/<tab> (contacts, persons,
// properties, sources, history). The card itself is in counterparty-card.js.
import { renderCard } from './counterparty-card.js';

export const path = '/counterparties/:id/:tab';
export const titleKey = 'counterparty.title';
export const permission = 'counterparty:read';

export function render(ctx) {
  return renderCard(ctx, ctx.params.tab);
}
