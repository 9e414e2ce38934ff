// The contact persons tab: the persons linked to the counterparty (person-list.js).
import { h } from '../../../core/dom.js';
import { renderPersonsOf } from '../person-list.js';

export async function render(record) {
  const container = h('div', { class: 'cp-persons' });
  await renderPersonsOf(record.id, container);
  return container;
}
