// The create and edit form of a counterparty: every field of the API, with selects fed by the
// reference catalogs (retired entries are not offered, but a record that has one still shows it),
// a contact information editor, a property editor by value type, and a head counterparty picker.
// Messages from the server's problem+json `errors` appear next to their fields, also those of one
// row (`contact_info[1].value`) or one property (`properties.color`): see showFormErrors in forms.js.
import * as api from '../../core/api.js';
import { API, LEGAL_FORMS, RELATIONS, contactErrorType, groupTree } from './counterparty-fields.js';
import { today } from '../../core/dates.js';
import { h, uid } from '../../core/dom.js';
import { field, formAlert, input } from '../../core/forms.js';
import * as ref from '../../core/reference-cache.js';
import * as session from '../../core/session.js';
import { userPicker } from '../../core/user-picker.js';

const GROUPS_LIST = 'access-group-suggestions';
const CATALOGS = ['contact-kinds', 'groups', 'regions', 'activity-kinds', 'categories', 'properties', 'sources'];
const TYPING_DELAY_MS = 250;

/**
 * Build the form once the catalogs are loaded. `submitKey` labels the submit button, `cancelHref`
 * is where Cancel goes, `withSource` adds "how did they find us" (on create), `selfId` is the
 * record being edited (not offered as its own head).
 * Returns { form, controls, values(), fill(record), addPhone(number) }.
 */
export async function counterpartyForm({ submitKey, cancelHref, withSource = false, selfId = null }) {
  const catalogs = await ref.catalogs(CATALOGS);
  const forCounterparty = (name) => ref.applying(catalogs[name], 'counterparty');

  const relations = checkboxGroup(
    'relations',
    'cp.field.relations',
    RELATIONS.map((r) => ({ value: r, key: `cp.relation.${r}` })),
    { required: true },
  );
  const activityKinds = checkboxGroup(
    'activity_kinds',
    'cp.field.activity_kinds',
    entryOptions(catalogs['activity-kinds']),
  );
  const categories = checkboxGroup('categories', 'cp.field.categories', entryOptions(forCounterparty('categories')));
  const contacts = contactEditor(forCounterparty('contact-kinds'));
  const codes = codeEditor();
  const properties = propertyEditor(forCounterparty('properties'));
  const head = headPicker(selfId);

  // Managers are users, chosen by name (the core's user picker).
  const mainManager = userPicker({
    name: 'main_manager',
    labelKey: 'field.main_manager',
    hintKey: 'hint.main_manager',
    required: true,
  });
  const managers = userPicker({ name: 'managers', labelKey: 'cp.field.managers', hintKey: 'cp.hint.managers', multiple: true });
  const controls = {
    name: input({ maxlength: 200, required: true }),
    legal_form: h(
      'select',
      {},
      LEGAL_FORMS.map((f) => h('option', { value: f, i18n: `cp.legalForm.${f}` })),
    ),
    tax_id: input({ maxlength: 32, autocapitalize: 'characters' }),
    vat_id: input({ maxlength: 32, autocapitalize: 'characters' }),
    group: groupSelect(catalogs.groups),
    region: entrySelect(catalogs.regions),
    access_group: accessGroupControl(),
    comment: h('textarea', { rows: 3, maxlength: 2000 }),
  };
  const source = withSource ? sourceControls(catalogs.sources) : null;

  const form = h(
    'form',
    { class: 'form cp-form', novalidate: true },
    formAlert(),
    section(
      'cp.section.main',
      field({ name: 'name', label: 'field.name', control: controls.name, required: true }),
      relations.wrapper,
      field({ name: 'legal_form', label: 'cp.field.legal_form', control: controls.legal_form }),
      h(
        'div',
        { class: 'cp-pair' },
        field({ name: 'tax_id', label: 'field.tax_id', control: controls.tax_id, hint: 'hint.tax_id' }),
        field({ name: 'vat_id', label: 'cp.field.vat_id', control: controls.vat_id }),
      ),
      codes.wrapper,
    ),
    section(
      'cp.section.classification',
      field({ name: 'group', label: 'cp.field.group', control: controls.group }),
      head.wrapper,
      field({ name: 'region', label: 'cp.field.region', control: controls.region }),
      activityKinds.wrapper,
      categories.wrapper,
    ),
    section(
      'cp.section.managers',
      mainManager.wrapper,
      managers.wrapper,
      field({
        name: 'access_group',
        label: 'field.access_group',
        control: controls.access_group,
        hint: 'hint.access_group',
      }),
    ),
    section('cp.section.contacts', contacts.wrapper),
    section('cp.section.properties', properties.wrapper),
    source ? section('cp.section.source', source.wrapper) : null,
    section('cp.section.comment', field({ name: 'comment', label: 'cp.field.comment', control: controls.comment })),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: submitKey }),
      h('a', { class: 'button button-quiet', href: cancelHref, i18n: 'form.cancel' }),
    ),
    groupSuggestions(),
  );
  // What showFormErrors needs to word a refusal: the contact type of a row, a property's value type.
  form.errorTypeOf = contactErrorType(
    contacts.typeOfRow,
    (code) => catalogs.properties.find((p) => p.code === code)?.attributes?.value_type,
  );

  return {
    form,
    controls,
    mainManager,
    /** The form as an API body: empty texts are `null`, lists and maps complete. */
    values() {
      const text = (name) => controls[name].value.trim();
      const main = mainManager.value();
      const body = {
        name: text('name'),
        relations: relations.values(),
        legal_form: controls.legal_form.value,
        tax_id: text('tax_id') || null,
        vat_id: text('vat_id') || null,
        group: controls.group.value || null,
        head_counterparty_id: head.value(),
        region: controls.region.value || null,
        activity_kinds: activityKinds.values(),
        main_manager: main,
        managers: managers.value().filter((m) => m !== main),
        access_group: text('access_group') || null,
        contact_info: contacts.values(),
        properties: properties.values(),
        categories: categories.values(),
        external_codes: codes.values(),
        comment: controls.comment.value.trim(),
      };
      if (source) body.source = source.value();
      return body;
    },
    /** Every property the form shows, null when empty (an edit sends null to remove one). */
    allProperties: () => properties.all(),
    /** Put a record (from the API) into the inputs. */
    fill(record) {
      controls.name.value = record.name ?? '';
      relations.fill(record.relations || []);
      controls.legal_form.value = record.legal_form || 'legal';
      controls.tax_id.value = record.tax_id ?? '';
      controls.vat_id.value = record.vat_id ?? '';
      chooseOption(controls.group, record.group, ref.nameOf(catalogs.groups, record.group));
      chooseOption(controls.region, record.region, ref.nameOf(catalogs.regions, record.region));
      activityKinds.fill(record.activity_kinds || [], catalogs['activity-kinds']);
      categories.fill(record.categories || [], catalogs.categories);
      mainManager.fill(record.main_manager ?? '');
      managers.fill((record.managers || []).filter((m) => m !== record.main_manager));
      chooseOption(controls.access_group, record.access_group, record.access_group);
      controls.comment.value = record.comment ?? '';
      contacts.fill(record.contact_info || []);
      codes.fill(record.external_codes || []);
      properties.fill(record.properties || {});
      head.fill(record.head_counterparty_id);
    },
    /** Add a phone row with `number` (a new counterparty for a caller nobody knew); false when no
     * active contact kind is a phone. */
    addPhone(number) {
      // The plain "phone" kind when there is one (the number may be a landline), else any phone kind.
      const phones = ref.active(forCounterparty('contact-kinds')).filter((k) => k.attributes?.type === 'phone');
      const kind = phones.find((k) => k.code === 'phone') ?? phones[0];
      if (!kind) return false;
      contacts.add({ kind: kind.code, value: number, main: true });
      return true;
    },
  };
}

// -- pieces --------------------------------------------------------------------------------------

function section(titleKey, ...children) {
  return h('fieldset', { class: 'cp-section' }, h('legend', { i18n: titleKey }), children);
}

function entryOptions(entries) {
  return entries.map((e) => ({ value: e.code, text: e.name, retired: e.retired }));
}

/** A fieldset of checkboxes; values() the checked ones, fill() checks them (adding unknown ones). */
function checkboxGroup(name, labelKey, options, { required = false } = {}) {
  const errorId = uid(`${name}-error`);
  const list = h('div', { class: 'cp-checks' });
  const wrapper = h(
    'fieldset',
    { class: 'field', dataset: { field: name }, 'aria-describedby': errorId },
    h(
      'legend',
      {},
      h('span', { i18n: labelKey }),
      required ? h('span', { class: 'required', 'aria-hidden': 'true', text: ' *' }) : null,
    ),
    h('p', { class: 'field-error', id: errorId, hidden: true }),
    list,
  );
  const add = ({ value, key, text, retired }) => {
    const id = uid(name);
    const box = h('input', { type: 'checkbox', id, value, name });
    const label = h('label', { for: id }, h('span', { i18n: key, text }));
    const row = h('div', { class: 'check', dataset: { value } }, box, label);
    if (retired) row.hidden = true; // offered only when the record already has it
    list.append(row);
    return box;
  };
  const boxes = options.map(add);
  const empty = h('p', { class: 'muted', i18n: 'cp.none.defined', hidden: options.some((o) => !o.retired) });
  list.append(empty);
  return {
    wrapper,
    values: () => boxes.filter((b) => b.checked).map((b) => b.value),
    fill(values, entries = []) {
      for (const value of values) {
        if (!boxes.some((b) => b.value === value)) boxes.push(add({ value, text: ref.nameOf(entries, value) }));
      }
      for (const box of boxes) {
        box.checked = values.includes(box.value);
        if (box.checked) box.closest('.check').hidden = false;
      }
      empty.hidden = boxes.some((b) => !b.closest('.check').hidden);
    },
  };
}

/** A select of a catalog's active entries, with "—" for none. */
function entrySelect(entries) {
  return h(
    'select',
    {},
    h('option', { value: '', text: '—' }),
    ref.active(entries).map((e) => h('option', { value: e.code, text: e.name })),
  );
}

/** The groups as an indented tree; retired groups are left out (their children stay, indented). */
function groupSelect(groups) {
  return h(
    'select',
    {},
    h('option', { value: '', text: '—' }),
    groupTree(groups)
      .filter(({ entry }) => !entry.retired)
      .map(({ entry, depth }) =>
        h('option', {
          value: entry.code,
          dataset: { depth },
          text: `${'\u00a0\u00a0\u00a0'.repeat(depth)}${entry.name}`,
        }),
      ),
  );
}

/** Select `value`, adding it as an option when the select does not offer it (a retired entry). */
function chooseOption(control, value, text) {
  if (control.tagName === 'SELECT' && value && ![...control.options].some((o) => o.value === value)) {
    control.append(h('option', { value, text: text ?? value }));
  }
  control.value = value ?? '';
}

/** The contact information editor: rows of kind, value, main (one per kind) and comment. */
function contactEditor(kinds) {
  const offered = ref.active(kinds);
  const errorId = uid('contact_info-error');
  const rows = h('div', { class: 'cp-contact-rows' });
  const add = h('button', { type: 'button', class: 'button button-small', i18n: 'cp.contact.add' });
  const noKinds = h('p', { class: 'muted', i18n: 'cp.contact.noKinds', hidden: offered.length > 0 });
  const radioGroup = uid('main'); // radios of one kind share a name: one main entry per kind
  const wrapper = h(
    'fieldset',
    { class: 'field cp-contacts', dataset: { field: 'contact_info' }, 'aria-describedby': errorId },
    h('legend', { class: 'visually-hidden', i18n: 'cp.section.contacts' }),
    h('p', { class: 'field-error', id: errorId, hidden: true }),
    rows,
    noKinds,
    h('div', { class: 'form-actions' }, add),
  );
  add.disabled = offered.length === 0;

  function renumber() {
    [...rows.children].forEach((row, i) => {
      row.dataset.index = String(i);
      for (const part of row.querySelectorAll('.field[data-part]')) {
        const name = `contact_info[${i}].${part.dataset.part}`;
        part.dataset.field = name;
        const control = part.querySelector('input, select');
        if (control.type !== 'radio') control.name = name;
      }
      row.querySelector('.cp-row-title').textContent = String(i + 1);
    });
  }

  function addRow(entry = {}) {
    const kind = h('select', {});
    for (const k of offered) kind.append(h('option', { value: k.code, text: k.name }));
    if (entry.kind && ![...kind.options].some((o) => o.value === entry.kind)) {
      kind.append(h('option', { value: entry.kind, text: ref.nameOf(kinds, entry.kind) }));
    }
    if (entry.kind) kind.value = entry.kind;
    const value = input({ maxlength: 500, value: entry.value ?? '' });
    const main = h('input', { type: 'radio' });
    const comment = input({ maxlength: 200, value: entry.comment ?? '' });
    const remove = h('button', { type: 'button', class: 'button-quiet button-small', i18n: 'cp.contact.remove' });
    const row = h(
      'div',
      { class: 'cp-contact-row' },
      h('span', { class: 'cp-row-title', 'aria-hidden': 'true' }),
      part('kind', 'cp.contact.kind', kind),
      part('value', 'cp.contact.value', value),
      part('main', 'cp.contact.main', main, 'check'),
      part('comment', 'cp.contact.comment', comment),
      remove,
    );
    const typed = () => {
      const type = ref.entryOf(kinds, kind.value)?.attributes?.type ?? 'other';
      value.inputMode = { phone: 'tel', email: 'email', web: 'url' }[type] ?? 'text';
      value.autocomplete = 'off';
      main.name = `${radioGroup}-${kind.value}`;
      row.dataset.type = type;
    };
    kind.addEventListener('change', typed);
    typed();
    main.checked = Boolean(entry.main);
    remove.addEventListener('click', () => {
      row.remove();
      renumber();
      add.focus();
    });
    rows.append(row);
    renumber();
    return row;
  }

  add.addEventListener('click', () => addRow().querySelector('input:not([type=radio])')?.focus());

  return {
    wrapper,
    typeOfRow: (i) => rows.children[i]?.dataset.type ?? 'other',
    values: () =>
      [...rows.children]
        .map((row) => {
          const control = (p) => row.querySelector(`.field[data-part="${p}"] input, .field[data-part="${p}"] select`);
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
    add: (entry) => addRow(entry),
  };
}

/** Codes in other systems (the ERP's customer code): rows of system (default erp) and code. Rows with
 * no code are left out. */
function codeEditor() {
  const errorId = uid('external_codes-error');
  const rows = h('div', { class: 'cp-code-rows' });
  const add = h('button', { type: 'button', class: 'button button-small', i18n: 'cp.code.add' });
  const wrapper = h(
    'fieldset',
    { class: 'field cp-codes', dataset: { field: 'external_codes' }, 'aria-describedby': errorId },
    h('legend', { i18n: 'cp.field.external_codes' }),
    h('p', { class: 'hint', i18n: 'cp.hint.external_codes' }),
    h('p', { class: 'field-error', id: errorId, hidden: true }),
    rows,
    h('div', { class: 'form-actions' }, add),
  );

  function renumber() {
    [...rows.children].forEach((row, i) => {
      for (const piece of row.querySelectorAll('.field[data-part]')) {
        const name = `external_codes[${i}].${piece.dataset.part}`;
        piece.dataset.field = name;
        piece.querySelector('input').name = name;
      }
    });
  }

  function addRow(entry = {}) {
    const system = input({ maxlength: 32, value: entry.system ?? 'erp', autocapitalize: 'none', spellcheck: 'false' });
    const code = input({ maxlength: 64, value: entry.code ?? '', spellcheck: 'false' });
    const remove = h('button', { type: 'button', class: 'button-quiet button-small', i18n: 'cp.contact.remove' });
    const row = h(
      'div',
      { class: 'cp-code-row' },
      part('system', 'cp.code.system', system),
      part('code', 'cp.code.code', code),
      remove,
    );
    remove.addEventListener('click', () => {
      row.remove();
      renumber();
      add.focus();
    });
    rows.append(row);
    renumber();
    return row;
  }

  add.addEventListener('click', () => addRow().querySelector('.field[data-part="code"] input')?.focus());

  return {
    wrapper,
    values: () =>
      [...rows.children]
        .map((row) => {
          const value = (p) => row.querySelector(`.field[data-part="${p}"] input`).value.trim();
          return { system: value('system') || 'erp', code: value('code') };
        })
        .filter((c) => c.code !== ''),
    fill(codes) {
      rows.replaceChildren();
      for (const code of codes) addRow(code);
    },
  };
}

function part(name, labelKey, control, className = '') {
  const wrapper = field({ name, label: labelKey, control });
  wrapper.dataset.part = name;
  if (className) wrapper.classList.add(className);
  return wrapper;
}

/** An input per property definition, by its value type; values() the filled ones. */
function propertyEditor(definitions) {
  const inputs = new Map();
  const list = h('div', { class: 'cp-properties' });
  const empty = h('p', { class: 'muted', i18n: 'cp.none.properties' });
  const wrapper = h('div', { class: 'cp-property-list' }, list, empty);

  function add(definition, shown) {
    const type = definition.attributes?.value_type ?? 'string';
    let control;
    if (type === 'boolean') {
      control = h(
        'select',
        {},
        h('option', { value: '', text: '—' }),
        h('option', { value: 'true', i18n: 'cp.yes' }),
        h('option', { value: 'false', i18n: 'cp.no' }),
      );
    } else if (type === 'choice') {
      control = h(
        'select',
        {},
        h('option', { value: '', text: '—' }),
        (definition.attributes?.choices || []).map((c) => h('option', { value: c, text: c })),
      );
    } else if (type === 'date') {
      control = input({ type: 'date' });
    } else if (type === 'number') {
      control = input({ type: 'text', inputmode: 'decimal' });
    } else {
      control = input({ maxlength: 1000 });
    }
    const wrapperField = field({ name: `properties.${definition.code}`, label: 'cp.property.label', control });
    const label = wrapperField.querySelector('label span');
    delete label.dataset.i18n;
    label.textContent = definition.name;
    wrapperField.hidden = !shown;
    list.append(wrapperField);
    inputs.set(definition.code, { control, type });
    empty.hidden = true;
  }
  for (const definition of definitions) add(definition, !definition.retired);

  const read = ({ control, type }) => {
    const raw = control.value.trim();
    if (raw === '') return null;
    if (type === 'boolean') return raw === 'true';
    if (type === 'number') {
      const number = Number(raw.replace(',', '.'));
      return Number.isFinite(number) ? number : raw; // the server names what is wrong
    }
    return raw;
  };

  return {
    wrapper,
    /** Every property the form shows: its value, or null when empty. */
    all: () => Object.fromEntries([...inputs].map(([code, p]) => [code, read(p)])),
    values() {
      return Object.fromEntries(Object.entries(this.all()).filter(([, v]) => v !== null));
    },
    fill(values) {
      for (const [code, { control, type }] of inputs) {
        const value = values[code];
        if (value === undefined || value === null) {
          control.value = '';
          continue;
        }
        if (type === 'choice' && ![...control.options].some((o) => o.value === value)) {
          control.append(h('option', { value, text: value }));
        }
        control.value = type === 'boolean' ? String(Boolean(value)) : String(value);
        control.closest('.field').hidden = false;
      }
    },
  };
}

/** The head of the holding: a search box over the register and the chosen counterparty. */
function headPicker(selfId) {
  let chosen = null; // { id, name }
  const search = input({ type: 'search', i18nAttrs: { placeholder: 'cp.head.placeholder' } });
  const results = h('ul', { class: 'cp-picker-results', hidden: true });
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  const chosenText = h('span', { class: 'cp-picker-chosen' });
  const clear = h('button', { type: 'button', class: 'button-quiet button-small', i18n: 'cp.head.clear' });
  const current = h('div', { class: 'cp-picker-current', hidden: true }, chosenText, clear);
  const wrapper = field({
    name: 'head_counterparty_id',
    label: 'cp.field.head',
    control: search,
    hint: 'cp.hint.head',
  });
  search.after(current, results, status);

  function show(value) {
    chosen = value;
    current.hidden = !chosen;
    chosenText.replaceChildren(chosen ? h('strong', { text: chosen.name }) : '');
  }

  let typing = null;
  let searchNumber = 0;
  async function find() {
    const q = search.value.trim();
    const mine = ++searchNumber;
    if (!q) {
      results.hidden = true;
      status.replaceChildren();
      return;
    }
    try {
      const { data } = await api.get(API, { query: { q, limit: 8 } });
      if (mine !== searchNumber) return;
      const items = data.items.filter((item) => item.id !== selfId);
      results.replaceChildren(
        ...items.map((item) =>
          h(
            'li',
            {},
            h('button', {
              type: 'button',
              class: 'button-quiet',
              text: item.tax_id ? `${item.name} (${item.tax_id})` : item.name,
              on: {
                click: () => {
                  show({ id: item.id, name: item.name });
                  search.value = '';
                  results.hidden = true;
                  status.replaceChildren();
                  clear.focus();
                },
              },
            }),
          ),
        ),
      );
      results.hidden = items.length === 0;
      const key = items.length ? 'cp.head.found' : 'cp.head.none';
      status.replaceChildren(h('span', { i18n: key, i18nArgs: { count: items.length } }));
    } catch (error) {
      if (mine === searchNumber) status.replaceChildren(h('span', { text: error.message }));
    }
  }
  search.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(find, TYPING_DELAY_MS);
  });
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault(); // search, do not submit the whole form
      clearTimeout(typing);
      find();
    }
  });
  clear.addEventListener('click', () => {
    show(null);
    search.focus();
  });

  return {
    wrapper,
    value: () => chosen?.id ?? null,
    async fill(id) {
      show(id ? { id, name: id } : null);
      if (!id) return;
      try {
        const { data } = await api.get(`${API}/${encodeURIComponent(id)}`);
        if (chosen?.id === id) show({ id, name: data.name });
      } catch {
        // not visible to this user: the id stands for it
      }
    },
  };
}

/** "How did they find us": a source of the catalog and the date it applies from. */
function sourceControls(sources) {
  const select = entrySelect(sources);
  const on = input({ type: 'date', value: today() });
  const wrapper = h(
    'div',
    { class: 'cp-pair' },
    field({ name: 'source', label: 'cp.field.source', control: select }),
    field({ name: 'source_on', label: 'cp.field.source_on', control: on }),
  );
  return {
    wrapper,
    value: () => (select.value ? { source: select.value, on: on.value || null } : null),
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
