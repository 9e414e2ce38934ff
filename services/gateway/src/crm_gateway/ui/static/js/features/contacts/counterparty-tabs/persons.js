// The contact persons tab. The persons' pages are their own module (js/person-list.js, which
// exports renderPersonsOf(counterpartyId, container)); until it is there the tab says so.
import { h } from '../dom.js';

export async function render(record) {
  const container = h('div', { class: 'cp-persons' });
  let module = null;
  try {
    module = await import('../person-list.js');
  } catch {
    module = null;
  }
  if (typeof module?.renderPersonsOf !== 'function') {
    container.append(h('p', { class: 'empty', i18n: 'cp.persons.coming' }));
    return container;
  }
  await module.renderPersonsOf(record.id, container);
  return container;
}
