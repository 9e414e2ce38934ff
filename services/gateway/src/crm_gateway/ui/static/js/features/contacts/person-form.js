// The create and edit form of a contact person: names, birth date and the birthday reminder, gender,
// description, contact information (rows of kind, value, main, comment), properties and categories
// (those defined for persons) and, for its owner, whether it is private. The server's problem+json
// errors appear next to their fields, rows and properties included.
import { contactErrorType } from './counterparty-fields.js';
import { today } from '../../core/dates.js';
import { h, uid } from '../../core/dom.js';
import { field, formAlert, input, select, showFormErrors } from '../../core/forms.js';
import { GENDERS } from './person-fields.js';
import { categoryPicker, propertyEditor } from './properties-editor.js';
import * as ref from '../../core/reference-cache.js';

/**
 * Build the form. `kinds`, `properties` and `categories` are the entries of those catalogs;
 * `withPrivate` shows the "private" box (creating, or its owner editing). Returns { form, controls,
 * values(), propertyChanges(before), fill(person), showErrors(error, key) }.
 */
export function personForm({
  submitKey,
  cancelHref,
  kinds,
  properties = [],
  categories = [],
  withPrivate = true,
  extra = null,
}) {
  const controls = {
    first_name: input({ maxlength: 100, autocomplete: 'off' }),
    middle_name: input({ maxlength: 100, autocomplete: 'off' }),
    last_name: input({ maxlength: 100, autocomplete: 'off' }),
    birth_date: input({ type: 'date', max: today(), min: '1900-01-01' }),
    birthday_reminder_days: input({ type: 'number', min: 0, max: 365, step: 1, inputmode: 'numeric' }),
    gender: select(GENDERS.map((g) => ({ value: g, label: `person.gender.${g}` }))),
    description: h('textarea', { rows: 4, maxlength: 4000 }),
    private: h('input', { type: 'checkbox' }),
  };
  const contacts = contactEditor(ref.applying(kinds, 'person'), kinds);
  const propertyInputs = propertyEditor(ref.applying(properties, 'person'), { emptyKey: 'person.properties.none' });
  const categoryChecks = categoryPicker(ref.applying(categories, 'person'), {
    labelKey: 'person.field.categories',
    emptyKey: 'person.categories.none',
  });
  const form = h(
    'form',
    { class: 'form cp-form person-form', novalidate: true },
    formAlert(),
    h(
      'fieldset',
      { class: 'cp-section' },
      h('legend', { i18n: 'person.section.name' }),
      h('p', { class: 'field-hint', i18n: 'person.hint.names' }),
      field({ name: 'first_name', label: 'person.field.first_name', control: controls.first_name }),
      field({ name: 'middle_name', label: 'person.field.middle_name', control: controls.middle_name }),
      field({ name: 'last_name', label: 'person.field.last_name', control: controls.last_name }),
    ),
    h(
      'fieldset',
      { class: 'cp-section' },
      h('legend', { i18n: 'person.section.details' }),
      field({ name: 'birth_date', label: 'person.field.birth_date', control: controls.birth_date }),
      field({
        name: 'birthday_reminder_days',
        label: 'person.field.birthday_reminder_days',
        control: controls.birthday_reminder_days,
        hint: 'person.hint.reminder',
      }),
      field({ name: 'gender', label: 'person.field.gender', control: controls.gender }),
      field({ name: 'description', label: 'person.field.description', control: controls.description }),
      withPrivate ? privateBox(controls.private) : null,
    ),
    h('fieldset', { class: 'cp-section' }, h('legend', { i18n: 'person.section.contacts' }), contacts.wrapper),
    h(
      'fieldset',
      { class: 'cp-section person-classification' },
      h('legend', { i18n: 'person.section.classification' }),
      propertyInputs.wrapper,
      categoryChecks.wrapper,
    ),
    extra,
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: submitKey }),
      h('a', { class: 'button button-quiet', href: cancelHref, i18n: 'form.cancel' }),
    ),
  );
  // Read by showFormErrors for translated messages: the contact type of a row, a property's value type.
  form.errorTypeOf = contactErrorType(contacts.typeOfRow, (code) => ref.entryOf(properties, code)?.attributes?.value_type);

  const text = (name) => controls[name].value.trim() || null;
  return {
    form,
    controls,
    /** The form as an API body: empty texts are null. */
    values() {
      const days = controls.birthday_reminder_days.value.trim();
      const body = {
        first_name: text('first_name'),
        middle_name: text('middle_name'),
        last_name: text('last_name'),
        birth_date: controls.birth_date.value || null,
        birthday_reminder_days: days === '' ? null : Number(days),
        gender: controls.gender.value,
        description: controls.description.value.trim() || null,
        contact_info: contacts.values(),
        properties: propertyInputs.values(),
        categories: categoryChecks.values(),
      };
      if (withPrivate) body.private = controls.private.checked;
      return body;
    },
    /** The properties that differ from `before` (a person's map); null removes one. */
    propertyChanges: (before) => propertyInputs.changes(before || {}),
    /** Put a person (from the API) into the inputs. */
    fill(person) {
      for (const name of ['first_name', 'middle_name', 'last_name', 'birth_date', 'description']) {
        controls[name].value = person[name] ?? '';
      }
      controls.birthday_reminder_days.value = person.birthday_reminder_days ?? '';
      controls.gender.value = person.gender || 'unspecified';
      controls.private.checked = Boolean(person.private);
      contacts.fill(person.contact_info || []);
      propertyInputs.fill(person.properties || {});
      categoryChecks.fill(person.categories || []);
    },
    showErrors(error, fallbackKey) {
      showFormErrors(form, error, fallbackKey);
    },
  };
}

function privateBox(box) {
  const id = uid('private');
  box.id = id;
  box.name = 'private';
  return h(
    'div',
    { class: 'field check', dataset: { field: 'private' } },
    box,
    h('label', { for: id, i18n: 'person.field.private' }),
    h('p', { class: 'field-hint', i18n: 'person.hint.private' }),
    h('p', { class: 'field-error', hidden: true }),
  );
}

/** Rows of contact information: kind (person kinds), value, main, comment, and Remove. */
function contactEditor(offered, kinds) {
  const rows = h('div', { class: 'cp-contact-rows' });
  const add = h('button', { type: 'button', class: 'button button-small', i18n: 'person.contact.add' });
  const none = h('p', { class: 'muted', i18n: 'person.contact.noKinds', hidden: offered.length > 0 });
  const wrapper = h(
    'div',
    { class: 'field person-contacts', dataset: { field: 'contact_info' } },
    h('p', { class: 'field-error', hidden: true }),
    rows,
    none,
    h('div', { class: 'form-actions' }, add),
  );
  add.disabled = offered.length === 0;

  function renumber() {
    [...rows.children].forEach((row, i) => {
      for (const part of row.querySelectorAll('.field[data-part]')) {
        part.dataset.field = `contact_info[${i}].${part.dataset.part}`;
      }
      row.querySelector('.cp-row-title').textContent = String(i + 1);
    });
  }

  function part(name, label, control, className = 'field') {
    const id = uid(`contact-${name}`);
    control.id = id;
    return h(
      'div',
      { class: className, dataset: { part: name } },
      h('label', { for: id, i18n: label }),
      control,
      h('p', { class: 'field-error', hidden: true }),
    );
  }

  function addRow(entry = {}) {
    const kind = h('select', {});
    for (const k of ref.active(offered)) kind.append(h('option', { value: k.code, text: k.name }));
    if (entry.kind && ![...kind.options].some((o) => o.value === entry.kind)) {
      kind.append(h('option', { value: entry.kind, text: ref.nameOf(kinds, entry.kind) }));
    }
    if (entry.kind) kind.value = entry.kind;
    const value = input({ maxlength: 500, value: entry.value ?? '' });
    const main = h('input', { type: 'checkbox' });
    main.checked = Boolean(entry.main);
    const comment = input({ maxlength: 200, value: entry.comment ?? '' });
    const remove = h('button', { type: 'button', class: 'button-quiet button-small', i18n: 'person.contact.remove' });
    const row = h(
      'div',
      { class: 'cp-contact-row' },
      h('span', { class: 'cp-row-title', 'aria-hidden': 'true' }),
      part('kind', 'person.contact.kind', kind),
      part('value', 'person.contact.value', value),
      part('main', 'person.contact.main', main, 'field check'),
      part('comment', 'person.contact.comment', comment),
      remove,
    );
    const typed = () => {
      const type = ref.entryOf(kinds, kind.value)?.attributes?.type ?? 'other';
      value.inputMode = { phone: 'tel', email: 'email', web: 'url' }[type] ?? 'text';
      row.dataset.type = type;
    };
    kind.addEventListener('change', typed);
    typed();
    remove.addEventListener('click', () => {
      row.remove();
      renumber();
      add.focus();
    });
    rows.append(row);
    renumber();
    return row;
  }

  add.addEventListener('click', () => addRow().querySelector('input')?.focus());

  return {
    wrapper,
    typeOfRow: (i) => rows.children[i]?.dataset.type ?? 'other',
    values: () =>
      [...rows.children].map((row) => {
        const control = (p) => row.querySelector(`[data-part="${p}"] input, [data-part="${p}"] select`);
        return {
          kind: control('kind').value,
          value: control('value').value.trim(),
          main: control('main').checked,
          comment: control('comment').value.trim(),
        };
      }),
    fill(entries) {
      rows.replaceChildren();
      for (const entry of entries) addRow(entry);
    },
  };
}
