// The access-group catalogue (administrators only): list, define, rename, retire and restore groups.
// A group's code is what users and records store; its name is for people and may change.
import * as api from '../../core/api.js';
import { h } from '../../core/dom.js';
import { busy, clearErrors, field, formAlert, input, showErrors } from '../../core/forms.js';
import { errorBox, heading, scrollable } from '../../core/widgets.js';

export const path = '/access-groups';
export const titleKey = 'groups.title';
export const permission = 'users:admin';

const GROUPS = '/api/v1/access-groups';
const PAGE = 500;

export async function render(ctx) {
  let groups = await load(ctx.signal);
  const rows = h('tbody');
  const editor = h('div', { class: 'editor' });
  const status = h('div', { 'aria-live': 'polite' });

  function show() {
    rows.replaceChildren(...groups.map((group) => groupRow(group, { onEdit: () => openEditor(group), onToggle })));
  }

  async function refresh() {
    try {
      groups = await load(ctx.signal);
      show();
    } catch (error) {
      if (error.name !== 'AbortError') status.replaceChildren(errorBox(error));
    }
  }

  async function onToggle(group) {
    status.replaceChildren();
    try {
      await api.patch(`${GROUPS}/${encodeURIComponent(group.code)}`, { retired: !group.retired }, { ifMatch: `"${group.version}"` });
    } catch (error) {
      if (error.status !== 401) status.replaceChildren(errorBox(error));
    }
    await refresh();
  }

  function openEditor(group) {
    const close = () => editor.replaceChildren();
    editor.replaceChildren(renameForm(group, { onSaved: refresh, onClose: close }));
    editor.querySelector('input')?.focus();
  }

  const create = h('button', { type: 'button', class: 'button primary', i18n: 'groups.new' });
  create.addEventListener('click', () => {
    editor.replaceChildren(createForm({ onSaved: refresh, onClose: () => editor.replaceChildren() }));
    editor.querySelector('input')?.focus();
  });

  show();
  return h(
    'section',
    {},
    h('div', { class: 'page-head' }, heading('groups.title'), create),
    h('p', { class: 'muted', i18n: 'groups.hint' }),
    status,
    editor,
    scrollable(
      h(
        'table',
        { class: 'data-table' },
        h('caption', { class: 'visually-hidden', i18n: 'groups.title' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['groups.code', 'groups.name', 'groups.status', 'groups.actions'].map((key) =>
              h('th', { scope: 'col', i18n: key }),
            ),
          ),
        ),
        rows,
      ),
    ),
  );
}

async function load(signal) {
  const answer = await api.get(GROUPS, { query: { include_retired: 'true', limit: PAGE }, signal });
  return answer.data.items;
}

function groupRow(group, { onEdit, onToggle }) {
  return h(
    'tr',
    { dataset: { code: group.code } },
    h('td', { text: group.code }),
    h('td', { text: group.name }),
    h('td', { i18n: group.retired ? 'groups.retired' : 'groups.active' }),
    h(
      'td',
      {},
      h('button', {
        type: 'button',
        class: 'button button-quiet',
        i18n: 'groups.rename',
        i18nAttrs: { 'aria-label': 'groups.renameLabel' },
        i18nArgs: { group: group.name },
        on: { click: onEdit },
      }),
      ' ',
      h('button', {
        type: 'button',
        class: 'button button-quiet',
        i18n: group.retired ? 'groups.restore' : 'groups.retire',
        on: { click: () => onToggle(group) },
      }),
    ),
  );
}

function createForm({ onSaved, onClose }) {
  const controls = {
    code: input({ autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true }),
    name: input({ required: true }),
  };
  const form = h(
    'form',
    { class: 'form panel', novalidate: true },
    h('h2', { i18n: 'groups.new' }),
    formAlert(),
    field({ name: 'code', label: 'groups.code', control: controls.code, required: true, hint: 'groups.codeHint' }),
    field({ name: 'name', label: 'groups.name', control: controls.name, required: true }),
    actions('groups.create', onClose),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    busy(form, true);
    try {
      await api.post(GROUPS, { code: controls.code.value.trim(), name: controls.name.value.trim() });
      await onSaved();
      onClose();
    } catch (error) {
      busy(form, false);
      if (error.status !== 401) showErrors(form, error, 'groups.failed');
    }
  });
  return form;
}

function renameForm(group, { onSaved, onClose }) {
  const name = input({ value: group.name, required: true });
  const form = h(
    'form',
    { class: 'form panel', novalidate: true },
    h('h2', { i18n: 'groups.renameTitle', i18nArgs: { group: group.code } }),
    formAlert(),
    field({ name: 'name', label: 'groups.name', control: name, required: true }),
    actions('form.save', onClose),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    busy(form, true);
    try {
      await api.patch(
        `${GROUPS}/${encodeURIComponent(group.code)}`,
        { name: name.value.trim() },
        { ifMatch: `"${group.version}"` },
      );
      await onSaved();
      onClose();
    } catch (error) {
      busy(form, false);
      if (error.status !== 401) showErrors(form, error, 'groups.failed');
    }
  });
  return form;
}

function actions(submitKey, onClose) {
  return h(
    'div',
    { class: 'form-actions' },
    h('button', { type: 'submit', class: 'button primary', i18n: submitKey }),
    h('button', { type: 'button', class: 'button button-quiet', i18n: 'form.cancel', on: { click: onClose } }),
  );
}
