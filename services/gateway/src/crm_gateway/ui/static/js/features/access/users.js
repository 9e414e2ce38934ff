// Administration of users, their roles and access groups (administrators only: the page is left
// out of the navigation and answers "not found" for everyone else, and the server refuses anyway).
import * as api from '../../core/api.js';
import { h, uid } from '../../core/dom.js';
import { busy, clearErrors, field, formAlert, input, showErrors } from '../../core/forms.js';
import { errorBox, heading, scrollable } from '../../core/widgets.js';

export const path = '/users';
export const titleKey = 'users.title';
export const permission = 'users:admin';

const USERS = '/api/v1/users';
const GROUPS = '/api/v1/access-groups';
// The page lists the first 500 users (sorted by username); paging past them is still to come.
const PAGE = 500;

export async function render(ctx) {
  const [usersAnswer, rolesAnswer, groupsAnswer] = await Promise.all([
    api.get(USERS, { query: { limit: PAGE }, signal: ctx.signal }),
    api.get('/api/v1/roles', { signal: ctx.signal }),
    api.get(GROUPS, { query: { include_retired: 'true', limit: PAGE }, signal: ctx.signal }),
  ]);
  // The access-group catalogue: a user's groups are chosen from it (see the access-groups page).
  const catalogue = groupsAnswer.data.items;
  const roles = rolesAnswer.data.map((r) => ({
    name: r.role,
    permissions: r.permissions ?? [],
  }));
  let users = usersAnswer.data.items;

  const rows = h('tbody');
  const groupsBody = h('tbody');
  const editor = h('div', { class: 'editor' });
  const status = h('div', { 'aria-live': 'polite' });

  function show() {
    rows.replaceChildren(...users.map((user) => userRow(user, () => openEditor(user))));
    groupsBody.replaceChildren(...groupRows(users));
  }

  async function refresh() {
    try {
      users = (await api.get(USERS, { query: { limit: PAGE }, signal: ctx.signal })).data.items;
      show();
    } catch (error) {
      if (error.name !== 'AbortError') status.replaceChildren(errorBox(error));
    }
  }

  function openEditor(user) {
    const close = () => editor.replaceChildren();
    const reload = async () => {
      await refresh();
      const fresh = users.find((other) => other.id === user.id);
      if (fresh) openEditor(fresh);
      else close();
    };
    editor.replaceChildren(editForm(user, roles, catalogue, { onSaved: refresh, onClose: close, onReload: reload }));
    editor.querySelector('input')?.focus();
  }

  const create = h('button', { type: 'button', class: 'button primary', i18n: 'users.new' });
  create.addEventListener('click', () => {
    editor.replaceChildren(createForm(roles, catalogue, { onSaved: refresh, onClose: () => editor.replaceChildren() }));
    editor.querySelector('input')?.focus();
  });

  show();
  return h(
    'section',
    {},
    h('div', { class: 'page-head' }, heading('users.title'), create),
    status,
    editor,
    scrollable(
      h(
        'table',
        { class: 'data-table' },
        h('caption', { class: 'visually-hidden', i18n: 'users.title' }),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['users.username', 'users.name', 'users.roles', 'users.groups', 'users.status', 'users.actions'].map(
              (key) => h('th', { scope: 'col', i18n: key }),
            ),
          ),
        ),
        rows,
      ),
    ),
    h('h2', { i18n: 'users.rolesTitle' }),
    scrollable(
      h(
        'table',
        { class: 'data-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col', i18n: 'users.role' }),
            h('th', { scope: 'col', i18n: 'users.permissions' }),
          ),
        ),
        h(
          'tbody',
          {},
          roles.map((role) =>
            h('tr', {}, h('td', {}, roleText(role.name)), h('td', {}, joinNodes(role.permissions.map(permissionText)))),
          ),
        ),
      ),
    ),
    h('h2', { i18n: 'users.groupsTitle' }),
    h('p', { class: 'muted', i18n: 'users.groupsHint' }),
    scrollable(
      h(
        'table',
        { class: 'data-table' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', { scope: 'col', i18n: 'users.group' }), h('th', { scope: 'col', i18n: 'users.members' })),
        ),
        groupsBody,
      ),
    ),
  );
}

function userRow(user, onEdit) {
  return h(
    'tr',
    { dataset: { username: user.username } },
    h('td', { text: user.username }),
    h('td', { text: user.name ?? '' }),
    h('td', {}, joinNodes((user.roles ?? []).map(roleText))),
    h('td', { text: (user.groups ?? []).join(', ') || '—' }),
    h(
      'td',
      {},
      h('span', {
        class: user.locked ? 'badge badge-warn' : 'badge',
        i18n: user.locked ? 'users.locked' : 'users.active',
      }),
    ),
    h(
      'td',
      {},
      h('button', {
        type: 'button',
        class: 'button button-small',
        i18n: 'users.edit',
        i18nAttrs: { 'aria-label': 'users.editLabel' },
        i18nArgs: { user: user.username },
        on: { click: onEdit },
      }),
    ),
  );
}

function groupRows(users) {
  const members = new Map();
  for (const user of users)
    for (const group of user.groups ?? []) members.set(group, [...(members.get(group) ?? []), user.username]);
  if (members.size === 0) return [h('tr', {}, h('td', { colspan: '2', class: 'muted', i18n: 'users.noGroups' }))];
  return [...members.keys()]
    .sort()
    .map((group) => h('tr', {}, h('td', { text: group }), h('td', { text: members.get(group).join(', ') })));
}

function roleText(role) {
  return h('span', { i18n: `role.${role}` });
}

function permissionText(permission) {
  return h('span', { i18n: `permission.${permission}` });
}

function joinNodes(nodes) {
  return nodes.flatMap((node, i) => (i ? [', ', node] : [node]));
}

/** A fieldset of role checkboxes; the field name 'roles' receives the server's messages. */
function rolesField(roles, chosen) {
  const legendId = uid('roles');
  const boxes = roles.map((role) => {
    const id = uid('role');
    return h(
      'div',
      { class: 'check' },
      h('input', { type: 'checkbox', id, value: role.name, checked: chosen.includes(role.name) }),
      h('label', { for: id }, roleText(role.name)),
    );
  });
  return h(
    'fieldset',
    { class: 'field', dataset: { field: 'roles' }, 'aria-labelledby': legendId },
    h('legend', { id: legendId, i18n: 'users.roles' }),
    boxes,
    h('p', { class: 'field-error', hidden: true }),
  );
}

function chosenRoles(form) {
  return [...form.querySelectorAll('[data-field="roles"] input:checked')].map((box) => box.value);
}

/**
 * A fieldset of access-group checkboxes from the catalogue: its active groups, and the retired ones
 * the user still has (they may stay, not be granted anew). The field name 'groups' receives the
 * server's messages.
 */
function groupsField(catalogue, chosen) {
  const legendId = uid('groups');
  const offered = catalogue.filter((group) => !group.retired || chosen.includes(group.code));
  const boxes = offered.map((group) => {
    const id = uid('group');
    return h(
      'div',
      { class: 'check' },
      h('input', { type: 'checkbox', id, value: group.code, checked: chosen.includes(group.code) }),
      h('label', { for: id }, group.name, group.name === group.code ? '' : ` (${group.code})`),
    );
  });
  return h(
    'fieldset',
    { class: 'field', dataset: { field: 'groups' }, 'aria-labelledby': legendId },
    h('legend', { id: legendId, i18n: 'users.groups' }),
    boxes.length ? boxes : h('p', { class: 'muted', i18n: 'users.noCatalogue' }),
    h('p', { class: 'field-error', hidden: true }),
  );
}

function chosenGroups(form) {
  return [...form.querySelectorAll('[data-field="groups"] input:checked')].map((box) => box.value);
}

function createForm(roles, catalogue, { onSaved, onClose }) {
  const controls = {
    username: input({ autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true }),
    name: input({ required: true }),
    password: input({ type: 'password', autocomplete: 'new-password', required: true }),
  };
  const form = h(
    'form',
    { class: 'form panel', novalidate: true },
    h('h2', { i18n: 'users.new' }),
    formAlert(),
    field({ name: 'username', label: 'users.username', control: controls.username, required: true }),
    field({ name: 'name', label: 'users.name', control: controls.name, required: true }),
    field({ name: 'password', label: 'users.password', control: controls.password, required: true }),
    rolesField(roles, ['sales_manager']),
    groupsField(catalogue, []),
    actions('users.create', onClose),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    busy(form, true);
    try {
      await api.post(USERS, {
        username: controls.username.value.trim(),
        name: controls.name.value.trim(),
        password: controls.password.value,
        roles: chosenRoles(form),
        groups: chosenGroups(form),
      });
      await onSaved();
      onClose();
    } catch (error) {
      busy(form, false);
      if (error.status !== 401) showErrors(form, error, 'users.failed');
    }
  });
  return form;
}

function editForm(user, roles, catalogue, { onSaved, onClose, onReload }) {
  const url = `${USERS}/${encodeURIComponent(user.id)}`;
  const controls = {
    name: input({ value: user.name ?? '', required: true }),
    locked: h('input', { type: 'checkbox', checked: Boolean(user.locked) }),
  };
  const lockedId = uid('locked');
  controls.locked.id = lockedId;
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
    h('h2', { i18n: 'users.editTitle', i18nArgs: { user: user.username } }),
    conflict,
    formAlert(),
    field({ name: 'name', label: 'users.name', control: controls.name, required: true }),
    rolesField(roles, user.roles ?? []),
    groupsField(catalogue, user.groups ?? []),
    h(
      'div',
      { class: 'field check', dataset: { field: 'locked' } },
      controls.locked,
      h('label', { for: lockedId, i18n: 'users.lockedLabel' }),
      h('p', { class: 'field-error', hidden: true }),
    ),
    actions('form.save', onClose),
  );
  // A user's ETag: from GET /users/{id} when it gives one, else the version in the list.
  let etag = user.version === undefined ? null : `"${user.version}"`;
  api.get(url).then(
    (answer) => {
      etag = answer.etag ?? etag;
    },
    () => {},
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    conflict.hidden = true;
    busy(form, true);
    try {
      await api.patch(
        url,
        {
          name: controls.name.value.trim(),
          roles: chosenRoles(form),
          groups: chosenGroups(form),
          locked: controls.locked.checked,
        },
        { ifMatch: etag },
      );
      await onSaved();
      onClose();
    } catch (error) {
      busy(form, false);
      if (error.status === 412 || error.status === 409) conflict.hidden = false;
      else if (error.status !== 401) showErrors(form, error, 'users.failed');
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
