// The interaction form (plan one, record one that happened, or change the details of one), the
// reminder and source selects, and the information-source prompt. Refusals of the server
// (problem+json `errors`) appear next to their fields: the `end` before the start next to the end,
// a reminder in the past next to the reminder, and so on.
import * as api from '../../core/api.js';
import { formatDate } from '../../core/dates.js';
import { h, uid } from '../../core/dom.js';
import { busy, clearErrors, field, formAlert, input, select, setFieldError, showFormErrors } from '../../core/forms.js';
import {
  API,
  DIRECTIONS,
  IMPORTANCES,
  KINDS,
  REMINDER_LEADS,
  fromLocalInput,
  localDay,
  nextFullHour,
  nowMinute,
  splitList,
  toLocalInput,
} from './interaction-fields.js';
import { counterpartyPicker, counterpartyNamed, personNamed, personPicker, userSelect } from './interaction-pickers.js';
import * as ref from '../../core/reference-cache.js';
import * as session from '../../core/session.js';
import { userPicker } from '../../core/user-picker.js';

/** A select of the reminder lead times (and "no reminder"). */
export function reminderSelect() {
  return h(
    'select',
    {},
    h('option', { value: '', i18n: 'ia.reminder.none' }),
    REMINDER_LEADS.map((minutes) => h('option', { value: String(minutes), i18n: `ia.reminder.${minutes}` })),
  );
}

/**
 * Said beside where a source is chosen, so a missing one is never a dead end: administrators get a
 * link to the sources on the reference data page, others are told who adds sources. `empty`: the
 * catalog has none to offer at all.
 */
export function sourcesNote(empty) {
  const cls = empty ? 'ia-sources-note ia-no-sources' : 'ia-sources-note field-hint';
  if (session.can('reference:admin')) {
    return h(
      'p',
      { class: cls },
      empty ? [h('span', { i18n: 'ia.source.noneDefined' }), ' '] : null,
      h('a', { href: '#/reference?catalog=sources', i18n: empty ? 'ia.source.addSources' : 'ia.source.addMissing' }),
    );
  }
  return h('p', { class: cls, i18n: empty ? 'ia.source.askAdministrator' : 'ia.source.whoAdds' });
}

/** A select of the information sources a form may offer (not retired), with an empty choice. */
export function sourceSelect(catalog, emptyKey = 'ia.source.none') {
  return h(
    'select',
    {},
    h('option', { value: '', i18n: emptyKey }),
    ref.active(catalog).map((e) => h('option', { value: e.code, text: e.name })),
  );
}

function options(what, values) {
  return select(values.map((v) => ({ value: v, label: `ia.${what}.${v}` })));
}

function section(titleKey, ...children) {
  return h('fieldset', { class: 'cp-section' }, h('legend', { i18n: titleKey }), children);
}

/**
 * The form of an interaction. `editing`: only the details (no state, times, reminder, source or
 * outcome: those have their own actions). `initial`: { counterparty_id, contact_person_id, state }
 * for a new one. Returns { form, values(), changes(before), fill(record) }.
 */
export async function interactionForm({ submitKey, cancelHref, editing = false, initial = {} }) {
  const { sources } = await ref.catalogsOrEmpty(['sources']);
  const counterparty = counterpartyPicker();
  const person = personPicker();
  const responsible = userSelect({
    name: 'responsible',
    labelKey: 'ia.field.responsible',
    hintKey: 'ia.hint.responsible',
  });
  responsible.fill(session.current()?.id ?? ''); // a new one is the author's unless they choose another
  const participants = userPicker({
    name: 'participants',
    labelKey: 'ia.field.participants',
    hintKey: 'ia.hint.participants',
    multiple: true,
  });
  const controls = {
    kind: options('kind', KINDS),
    direction: options('direction', DIRECTIONS),
    importance: options('importance', IMPORTANCES),
    subject: input({ maxlength: 200, required: true }),
    start: input({ type: 'datetime-local' }),
    end: input({ type: 'datetime-local' }),
    reminder: reminderSelect(),
    third_parties: h('textarea', { rows: 2, maxlength: 5000 }),
    project: input({ maxlength: 200 }),
    description: h('textarea', { rows: 2, maxlength: 1000 }),
    content: h('textarea', { rows: 6, maxlength: 100000 }),
    source: sourceSelect(sources),
    outcome: h('textarea', { rows: 3, maxlength: 5000 }),
    outcome_code: input({ maxlength: 64 }),
  };
  controls.importance.value = 'medium';
  controls.direction.value = 'outgoing';

  // Plan one, or record one that happened: the reminder is for planned ones, the outcome for done ones.
  const stateName = uid('ia-state');
  const planned = h('input', { type: 'radio', name: stateName, value: 'planned', id: uid('ia-planned') });
  const completed = h('input', { type: 'radio', name: stateName, value: 'completed', id: uid('ia-completed') });
  const stateField = h(
    'fieldset',
    { class: 'field ia-mode', dataset: { field: 'state' } },
    h('legend', { i18n: 'ia.form.mode' }),
    h('p', { class: 'field-error', hidden: true }),
    h('div', { class: 'check' }, planned, h('label', { for: planned.id, i18n: 'ia.form.modePlan' })),
    h('div', { class: 'check' }, completed, h('label', { for: completed.id, i18n: 'ia.form.modeRecord' })),
  );
  const reminderField = field({ name: 'reminder', label: 'ia.field.reminder', control: controls.reminder });
  const outcomeFields = h(
    'div',
    { class: 'ia-outcome-fields' },
    field({ name: 'outcome', label: 'ia.field.outcome', control: controls.outcome }),
    field({ name: 'outcome_code', label: 'ia.field.outcome_code', control: controls.outcome_code, hint: 'ia.hint.outcome_code' }),
  );
  const sourceField = field({
    name: 'source',
    label: 'ia.field.source',
    control: controls.source,
    hint: 'ia.hint.source',
  });
  sourceField.append(sourcesNote(!ref.active(sources).length));
  function mode() {
    return completed.checked ? 'completed' : 'planned';
  }
  function showMode() {
    const recording = mode() === 'completed';
    reminderField.hidden = recording;
    outcomeFields.hidden = !recording;
    // A planned one starts ahead, one that happened now: change the start only if it is the other default.
    if (recording && controls.start.value === controls.start.dataset.default) {
      controls.start.value = nowMinute();
      controls.start.dataset.default = controls.start.value;
    } else if (!recording && controls.start.value === controls.start.dataset.default) {
      controls.start.value = nextFullHour();
      controls.start.dataset.default = controls.start.value;
    }
  }
  planned.addEventListener('change', showMode);
  completed.addEventListener('change', showMode);
  const showSource = () => {
    sourceField.hidden = !counterparty.value();
  };
  counterparty.onChange(showSource);

  const form = h(
    'form',
    { class: 'form cp-form ia-form', novalidate: true },
    formAlert(),
    editing ? null : stateField,
    section(
      'ia.section.main',
      h(
        'div',
        { class: 'cp-pair' },
        field({ name: 'kind', label: 'ia.field.kind', control: controls.kind }),
        field({ name: 'direction', label: 'ia.field.direction', control: controls.direction }),
      ),
      field({ name: 'subject', label: 'ia.field.subject', control: controls.subject, required: true }),
      editing
        ? null
        : h(
            'div',
            { class: 'cp-pair' },
            field({ name: 'start', label: 'ia.field.start', control: controls.start, required: true }),
            field({ name: 'end', label: 'ia.field.end', control: controls.end, hint: 'ia.hint.end' }),
          ),
      field({ name: 'importance', label: 'ia.field.importance', control: controls.importance }),
      editing ? null : reminderField,
    ),
    section('ia.section.parties', counterparty.wrapper, person.wrapper, editing ? null : sourceField),
    section(
      'ia.section.people',
      responsible.wrapper,
      participants.wrapper,
      field({ name: 'third_parties', label: 'ia.field.third_parties', control: controls.third_parties, hint: 'ia.hint.third_parties' }),
      field({ name: 'project', label: 'ia.field.project', control: controls.project }),
    ),
    section(
      'ia.section.content',
      field({ name: 'description', label: 'ia.field.description', control: controls.description }),
      field({ name: 'content', label: 'ia.field.content', control: controls.content }),
    ),
    editing ? null : outcomeFields,
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: submitKey }),
      h('a', { class: 'button button-quiet', href: cancelHref, i18n: 'form.cancel' }),
    ),
  );

  if (!editing) {
    (initial.state === 'completed' ? completed : planned).checked = true;
    controls.start.value = initial.state === 'completed' ? nowMinute() : nextFullHour();
    if (initial.start) controls.start.value = initial.start;
    controls.start.dataset.default = controls.start.value;
    if (initial.state === 'completed') controls.direction.value = 'incoming';
    showMode();
  }
  if (initial.counterparty_id) counterparty.fill(await counterpartyNamed(initial.counterparty_id));
  if (initial.contact_person_id) person.fill(await personNamed(initial.contact_person_id));
  showSource();

  /** The details as the API takes them (both for a new one and for a change). */
  function details() {
    return {
      kind: controls.kind.value,
      direction: controls.direction.value,
      importance: controls.importance.value,
      subject: controls.subject.value.trim(),
      counterparty_id: counterparty.value(),
      contact_person_id: person.value(),
      responsible: responsible.value() || null,
      participants: participants.value(),
      third_parties: splitList(controls.third_parties.value, /[;\n]+/),
      project: controls.project.value.trim(),
      description: controls.description.value.trim(),
      content: controls.content.value,
    };
  }

  return {
    form,
    /** A new interaction's body: empty optional fields left out (the server's defaults apply). */
    values() {
      const body = { ...details(), state: mode() };
      const start = fromLocalInput(controls.start.value);
      const end = fromLocalInput(controls.end.value);
      if (start) body.start = start;
      if (end) body.end = end;
      if (body.state === 'planned' && controls.reminder.value) body.reminder = Number(controls.reminder.value);
      if (body.counterparty_id && controls.source.value) body.source = controls.source.value;
      if (body.state === 'completed') {
        body.outcome = controls.outcome.value.trim();
        if (controls.outcome_code.value.trim()) body.outcome_code = controls.outcome_code.value.trim();
      }
      for (const name of Object.keys(body)) if (body[name] === null || body[name] === '') delete body[name];
      return body;
    },
    /** Only what differs from `before` (a PATCH sets what it names). */
    changes(before) {
      const after = details();
      const changed = {};
      for (const [name, value] of Object.entries(after)) {
        const old = before[name] ?? (Array.isArray(value) ? [] : typeof value === 'string' ? '' : null);
        if (JSON.stringify(value) !== JSON.stringify(old)) changed[name] = value;
      }
      if (changed.responsible === null) delete changed.responsible; // it cannot be removed
      return changed;
    },
    /** Put an interaction (from the API) into the inputs. */
    async fill(record) {
      controls.kind.value = record.kind;
      controls.direction.value = record.direction;
      controls.importance.value = record.importance;
      controls.subject.value = record.subject ?? '';
      controls.start.value = toLocalInput(record.start);
      controls.end.value = toLocalInput(record.end);
      participants.fill(record.participants || []);
      controls.third_parties.value = (record.third_parties || []).join('\n');
      controls.project.value = record.project ?? '';
      controls.description.value = record.description ?? '';
      controls.content.value = record.content ?? '';
      responsible.fill(record.responsible);
      counterparty.fill(
        record.counterparty_id ? { id: record.counterparty_id, name: record.counterparty_name || record.counterparty_id } : null,
      );
      person.fill(record.contact_person_id ? await personNamed(record.contact_person_id) : null);
      showSource();
    },
  };
}

/** Show a refusal of the server next to its fields (or in the form's alert). */
export function showInteractionErrors(form, error, fallbackKey = 'ia.form.failed') {
  showFormErrors(form, error, fallbackKey);
}

/** A conflict box (someone changed the interaction meanwhile: 412, or 409 at the same moment) with Reload. */
export function conflictBox(onReload) {
  return h(
    'div',
    { class: 'alert alert-warning conflict', role: 'alert', hidden: true },
    h('p', { i18n: 'conflict.text' }),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'button', class: 'button', i18n: 'conflict.reload', on: { click: onReload } }),
    ),
  );
}

/**
 * The prompt to record the counterparty's information source (the interaction's `source_prompt`):
 * missing, or expired with the last one and its expiry. With `canWrite`, a form that POSTs
 * …/{id}/source; `done(answer)` runs after it was recorded.
 */
export function sourcePrompt(interaction, catalog, { canWrite, done }) {
  const prompt = interaction.source_prompt;
  const who = interaction.counterparty_name || interaction.counterparty_id;
  const text =
    prompt.reason === 'expired'
      ? h('p', {
          i18n: 'ia.prompt.expired',
          i18nArgs: {
            name: who,
            source: prompt.last_source ? ref.nameOf(catalog, prompt.last_source) : '—',
            date: formatDate(prompt.expired_on),
          },
        })
      : h('p', { i18n: 'ia.prompt.missing', i18nArgs: { name: who } });
  const box = h(
    'section',
    { class: 'alert alert-warning ia-source-prompt', role: 'status', dataset: { reason: prompt.reason } },
    h('h2', { i18n: 'ia.prompt.title' }),
    text,
  );
  if (!canWrite) return box;
  if (!ref.active(catalog).length) {
    // Nothing to choose from: say how sources get there instead of an empty list.
    box.append(sourcesNote(true));
    return box;
  }

  const source = sourceSelect(catalog, 'ia.source.choose');
  const on = input({ type: 'date', value: localDay(new Date(interaction.start)) });
  const form = h(
    'form',
    { class: 'form ia-source-form', novalidate: true },
    formAlert(),
    h(
      'div',
      { class: 'cp-pair' },
      field({ name: 'source', label: 'ia.field.source', control: source, required: true }),
      field({ name: 'on', label: 'ia.prompt.on', control: on }),
    ),
    sourcesNote(false),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button primary', i18n: 'ia.prompt.submit' })),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!source.value) {
      setFieldError(form, 'source', 'ia.prompt.choose');
      source.focus();
      return;
    }
    busy(form, true);
    try {
      const answer = await api.post(
        `${API}/${encodeURIComponent(interaction.id)}/source`,
        { source: source.value, on: on.value || null },
        { idempotencyKey: api.newIdempotencyKey() },
      );
      done(answer);
    } catch (error) {
      busy(form, false);
      if (error.status !== 401) showInteractionErrors(form, error, 'ia.prompt.failed');
    }
  });
  box.append(form);
  return box;
}
