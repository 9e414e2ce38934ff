// Administration of reference data: the catalogs other records refer to by code (kinds of contact
// information, roles of contact persons, properties, categories, information sources, counterparty
// groups, kinds of activity, business regions). Administrators only: the page is left out of the
// navigation and answers "not found" for everyone else, and the server refuses anyway.
// The forms are built from GET /api/v1/reference (each catalog's attributes). Entries are retired
// and restored, never deleted; retired ones stay in the list, greyed, so they can be restored. After
// a change the shared copy in reference-cache.js is dropped, so other pages read the catalog again.
import * as api from '../../core/api.js';
import { h } from '../../core/dom.js';
import { busy, clearErrors, field, formAlert, input, showErrors } from '../../core/forms.js';
import { has } from '../../core/i18n.js';
import { forget, localName } from '../../core/reference-cache.js';
import { replaceQuery } from '../../core/router.js';
import { errorBox, heading, scrollable } from '../../core/widgets.js';

export const path = '/reference';
export const titleKey = 'reference.title';
export const permission = 'reference:admin';

const API = '/api/v1/reference';
const PAGE = 500;

export async function render(ctx) {
  const catalogs = (await api.get(API, { signal: ctx.signal })).data.items;
  const schemaOf = new Map(catalogs.map((c) => [c.catalog, c.attributes]));
  let catalog = schemaOf.has(ctx.query.get('catalog')) ? ctx.query.get('catalog') : catalogs[0].catalog;
  let entries = [];

  const picker = h(
    'select',
    {},
    catalogs.map((c) => h('option', { value: c.catalog, i18n: `reference.catalog.${c.catalog}` })),
  );
  picker.value = catalog;
  const rows = h('tbody');
  const status = h('div', { 'aria-live': 'polite' });
  const editor = h('div', { class: 'editor' });

  function show() {
    if (entries.length === 0) {
      rows.replaceChildren(h('tr', {}, h('td', { colspan: '5', class: 'muted', i18n: 'reference.empty' })));
      return;
    }
    rows.replaceChildren(
      ...entries.map((entry) =>
        entryRow(entry, schemaOf.get(catalog), entries, {
          onEdit: () => openEditor(entry),
          onToggle: () => toggle(entry),
        }),
      ),
    );
  }

  async function refresh(minPosition) {
    status.replaceChildren();
    try {
      entries = await allEntries(catalog, minPosition, ctx.signal);
      show();
    } catch (error) {
      if (error.name !== 'AbortError') status.replaceChildren(errorBox(error));
    }
  }

  const closeEditor = () => editor.replaceChildren();

  function openEditor(entry) {
    const options = { entries, onSaved: refresh, onClose: closeEditor, onReload: () => reopen(entry.code) };
    editor.replaceChildren(entryForm(catalog, schemaOf.get(catalog), entry, options));
    editor.querySelector('input:not([disabled]), select:not([disabled])')?.focus();
  }

  async function reopen(code) {
    await refresh();
    const fresh = entries.find((other) => other.code === code);
    if (fresh) openEditor(fresh);
    else closeEditor();
  }

  async function toggle(entry) {
    const action = entry.retired ? 'restore' : 'retire';
    status.replaceChildren();
    try {
      const answer = await api.post(`${entryUrl(catalog, entry.code)}/${action}`, undefined, {
        ifMatch: `"${entry.version}"`,
        idempotencyKey: api.newIdempotencyKey(),
      });
      forget(catalog);
      await refresh(answer.position);
    } catch (error) {
      if (error.status === 401) return;
      await refresh();
      status.replaceChildren(errorBox(error));
    }
  }

  picker.addEventListener('change', async () => {
    catalog = picker.value;
    replaceQuery(path, { catalog });
    closeEditor();
    await refresh();
  });

  const create = h('button', { type: 'button', class: 'button primary', i18n: 'reference.new' });
  create.addEventListener('click', () => {
    const options = { entries, onSaved: refresh, onClose: closeEditor };
    editor.replaceChildren(entryForm(catalog, schemaOf.get(catalog), null, options));
    editor.querySelector('input')?.focus();
  });

  entries = await allEntries(catalog, null, ctx.signal);
  show();
  return h(
    'section',
    {},
    h('div', { class: 'page-head' }, heading('reference.title'), create),
    h('div', { class: 'filters' }, field({ name: 'catalog', label: 'reference.catalog', control: picker })),
    status,
    editor,
    scrollable(
      h(
        'table',
        { class: 'data-table' },
        h('caption', { class: 'visually-hidden', i18n: 'reference.title' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['reference.name', 'reference.code', 'reference.details', 'reference.status', 'reference.actions'].map(
              (key) => h('th', { scope: 'col', i18n: key }),
            ),
          ),
        ),
        rows,
      ),
    ),
  );
}

function entryUrl(catalog, code) {
  return `${API}/${encodeURIComponent(catalog)}/${encodeURIComponent(code)}`;
}

/** Every entry of a catalog, retired ones too, sorted by name (the catalogs are small). */
async function allEntries(catalog, minPosition, signal) {
  const found = [];
  let cursor = null;
  do {
    const query = { include_retired: 'true', limit: PAGE, cursor, min_position: minPosition };
    const page = (await api.get(`${API}/${encodeURIComponent(catalog)}`, { query, signal })).data;
    found.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return found;
}

function entryRow(entry, attributes, entries, { onEdit, onToggle }) {
  const label = { name: entry.name };
  return h(
    'tr',
    { class: entry.retired ? 'muted' : null, dataset: { code: entry.code } },
    h('td', { text: localName(entry).name }),
    h('td', {}, h('code', { text: entry.code })),
    h('td', {}, details(entry, attributes, entries)),
    h(
      'td',
      {},
      h('span', {
        class: entry.retired ? 'badge badge-warn' : 'badge',
        i18n: entry.retired ? 'reference.retired' : 'reference.active',
      }),
    ),
    h(
      'td',
      {},
      h('button', {
        type: 'button',
        class: 'button button-small',
        i18n: 'reference.edit',
        i18nAttrs: { 'aria-label': 'reference.editLabel' },
        i18nArgs: label,
        on: { click: onEdit },
      }),
      ' ',
      h('button', {
        type: 'button',
        class: 'button button-small button-quiet',
        i18n: entry.retired ? 'reference.restore' : 'reference.retire',
        i18nAttrs: { 'aria-label': entry.retired ? 'reference.restoreLabel' : 'reference.retireLabel' },
        i18nArgs: label,
        on: { click: onToggle },
      }),
    ),
  );
}

/** "Label: value" for each attribute that has a value, separated by semicolons. */
function details(entry, attributes, entries) {
  const parts = [];
  for (const attr of attributes) {
    const value = entry.attributes?.[attr.name];
    const shown = shownValue(attr, value, entries);
    if (shown === null) continue;
    if (parts.length) parts.push('; ');
    parts.push(h('span', { i18n: `reference.attr.${attr.name}` }), ': ', shown);
  }
  return parts.length ? parts : '—';
}

function shownValue(attr, value, entries) {
  if (value === null || value === undefined) return null;
  switch (attr.type) {
    case 'choice':
      return h('span', { i18n: `reference.value.${attr.name}.${value}` });
    case 'list':
      return value.length ? value.join(', ') : null;
    case 'code':
      return localName(entries.find((other) => other.code === value) ?? { name: value }).name;
    default:
      if (attr.name === 'actuality_days')
        return value === 0
          ? h('span', { i18n: 'reference.neverExpires' })
          : h('span', { i18n: 'reference.days', i18nArgs: { count: value } });
      return String(value);
  }
}

/** One control per attribute, and how to read its value back for the request body. */
function attributeControl(attr, value, { entries, self, disabled }) {
  switch (attr.type) {
    case 'choice': {
      const control = h(
        'select',
        { disabled },
        value === null || value === undefined ? h('option', { value: '', i18n: 'reference.choose' }) : null,
        attr.options.map((option) => h('option', { value: option, i18n: `reference.value.${attr.name}.${option}` })),
      );
      control.value = value ?? '';
      return { control, read: () => control.value || undefined };
    }
    case 'list': {
      const control = h('textarea', { rows: '4', disabled });
      control.value = (value ?? []).join('\n');
      return {
        control,
        read: () =>
          control.value
            .split('\n')
            .map((line) => line.trim())
            .filter(Boolean),
      };
    }
    case 'code': {
      // Groups refer to groups: the choice is among the catalog's own active entries, but never the
      // entry itself (the server refuses cycles further down).
      const choices = entries.filter((other) => !other.retired && other.code !== self);
      const control = h(
        'select',
        { disabled },
        h('option', { value: '', i18n: 'reference.none' }),
        choices.map((other) => h('option', { value: other.code, text: other.name })),
      );
      if (value && !choices.some((other) => other.code === value))
        control.append(h('option', { value, text: entries.find((o) => o.code === value)?.name ?? value }));
      control.value = value ?? '';
      return { control, read: () => control.value || null };
    }
    default: {
      const control = input({ inputmode: 'numeric', value: value ?? '', disabled });
      return {
        control,
        read: () => {
          const text = control.value.trim();
          if (text === '') return undefined;
          return /^-?\d+$/.test(text) ? Number(text) : text; // the server names what is wrong
        },
      };
    }
  }
}

/** The form to define an entry (`entry` null) or to change one. */
function entryForm(catalog, attributes, entry, { entries, onSaved, onClose, onReload }) {
  const creating = entry === null;
  const code = input({ autocapitalize: 'none', spellcheck: 'false', required: true });
  const name = input({ value: entry?.name ?? '', required: true });
  const controls = attributes.map((attr) => {
    const value = creating ? (attr.required ? null : attr.default) : entry.attributes?.[attr.name];
    const { control, read } = attributeControl(attr, value, {
      entries,
      self: entry?.code,
      disabled: !creating && attr.immutable,
    });
    const hint = has(`reference.hint.${attr.name}`) ? `reference.hint.${attr.name}` : undefined;
    const wrapper = field({
      name: `attributes.${attr.name}`,
      label: `reference.attr.${attr.name}`,
      control,
      hint,
      required: attr.required,
    });
    return { attr, read, wrapper, control };
  });
  // Only properties of value type "choice" have choices: show the field just for them.
  const valueType = controls.find((c) => c.attr.name === 'value_type');
  const choices = controls.find((c) => c.attr.name === 'choices');
  if (valueType && choices) {
    const sync = () => {
      choices.wrapper.hidden = valueType.control.value !== 'choice';
    };
    valueType.control.addEventListener('change', sync);
    sync();
  }
  const conflict = h(
    'div',
    { class: 'alert alert-warning conflict', role: 'alert', hidden: true },
    h('p', { i18n: 'conflict.text' }),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'button', class: 'button', i18n: 'conflict.reload', on: { click: onReload } }),
    ),
  );
  const form = h(
    'form',
    { class: 'form panel', novalidate: true },
    creating
      ? h('h2', { i18n: 'reference.new' })
      : h('h2', { i18n: 'reference.editTitle', i18nArgs: { name: entry.name } }),
    creating ? null : conflict,
    formAlert(),
    creating
      ? field({ name: 'code', label: 'reference.code', control: code, hint: 'reference.hint.code', required: true })
      : null,
    field({
      name: 'name',
      label: 'reference.name',
      control: name,
      required: true,
      hint: entry?.names && Object.keys(entry.names).length ? 'reference.hint.names' : undefined,
      hintArgs: { names: Object.values(entry?.names ?? {}).join(' / ') },
    }),
    controls.map((c) => c.wrapper),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: creating ? 'reference.create' : 'form.save' }),
      h('button', { type: 'button', class: 'button button-quiet', i18n: 'form.cancel', on: { click: onClose } }),
    ),
  );
  const idempotencyKey = api.newIdempotencyKey();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    conflict.hidden = true;
    const values = {};
    for (const { attr, read, wrapper } of controls) {
      const value = read();
      if (value !== undefined && !wrapper.hidden) values[attr.name] = value;
    }
    busy(form, true);
    try {
      const answer = creating
        ? await api.post(
            `${API}/${encodeURIComponent(catalog)}`,
            { code: code.value.trim(), name: name.value.trim(), attributes: values },
            { idempotencyKey },
          )
        : await api.patch(
            entryUrl(catalog, entry.code),
            { name: name.value.trim(), attributes: values },
            { ifMatch: `"${entry.version}"`, idempotencyKey: api.newIdempotencyKey() },
          );
      forget(catalog);
      await onSaved(answer.position);
      onClose();
    } catch (error) {
      busy(form, false);
      if (!creating && (error.status === 412 || error.status === 409)) conflict.hidden = false;
      else if (error.status !== 401) showErrors(form, error, 'reference.failed');
    }
  });
  return form;
}
