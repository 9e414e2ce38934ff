// The create and edit form of a counterparty. Messages from the server's problem+json `errors`
// appear next to their fields (forms.showErrors); the pages decide what is sent and where to go.
import { KINDS } from './counterparty-fields.js';
import { h } from './dom.js';
import { field, formAlert, input, select } from './forms.js';
import * as session from './session.js';

const GROUPS_LIST = 'access-group-suggestions';

/**
 * Build the form. `submitKey` labels the submit button, `cancelHref` is where Cancel goes.
 * Returns { form, controls, values(), fill(record) }.
 */
export function counterpartyForm({ submitKey, cancelHref }) {
  const controls = {
    name: input({ maxlength: 200, required: true }),
    kind: select(
      KINDS.map((k) => ({ value: k, label: `kind.${k}` })),
      { required: true },
    ),
    tax_id: input({ maxlength: 32, autocapitalize: 'characters' }),
    main_manager: input({ maxlength: 100, required: true }),
    access_group: accessGroupControl(),
  };
  const form = h(
    'form',
    { class: 'form', novalidate: true },
    formAlert(),
    field({ name: 'name', label: 'field.name', control: controls.name, required: true }),
    field({ name: 'kind', label: 'field.kind', control: controls.kind, required: true }),
    field({ name: 'tax_id', label: 'field.tax_id', control: controls.tax_id, hint: 'hint.tax_id' }),
    field({
      name: 'main_manager',
      label: 'field.main_manager',
      control: controls.main_manager,
      hint: 'hint.main_manager',
      required: true,
    }),
    field({
      name: 'access_group',
      label: 'field.access_group',
      control: controls.access_group,
      hint: 'hint.access_group',
    }),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: submitKey }),
      h('a', { class: 'button button-quiet', href: cancelHref, i18n: 'form.cancel' }),
    ),
    groupSuggestions(),
  );

  return {
    form,
    controls,
    /** The form as an API body; an empty tax id or access group is `null`. */
    values() {
      const text = (name) => controls[name].value.trim();
      return {
        name: text('name'),
        kind: controls.kind.value,
        tax_id: text('tax_id') || null,
        main_manager: text('main_manager'),
        access_group: text('access_group') || null,
      };
    },
    /** Put a record (from the API) into the inputs. */
    fill(record) {
      for (const name of Object.keys(controls)) {
        const value = record[name] ?? '';
        const control = controls[name];
        // A group the user cannot choose still has to show: add it to the list.
        if (control.tagName === 'SELECT' && value && ![...control.options].some((o) => o.value === value)) {
          control.append(h('option', { value, text: value }));
        }
        control.value = value;
      }
    },
  };
}

// Who may see every group types any group (with their own as suggestions); everyone else chooses
// among the groups granted to them, since any other would be refused.
function accessGroupControl() {
  const user = session.current();
  const groups = user?.groups ?? [];
  if (groups.length && !session.can('access-groups:all')) {
    return h(
      'select',
      {},
      groups.map((g) => h('option', { value: g, text: g })),
    );
  }
  return input({ maxlength: 64, list: GROUPS_LIST, autocapitalize: 'none', spellcheck: 'false' });
}

function groupSuggestions() {
  return h(
    'datalist',
    { id: GROUPS_LIST },
    (session.current()?.groups ?? []).map((g) => h('option', { value: g })),
  );
}
