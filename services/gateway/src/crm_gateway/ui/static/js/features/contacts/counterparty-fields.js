// What the counterparty pages share: relations, legal forms, the group tree, main contacts,
// information sources and their expiry, and how values are shown.
import { addDays, formatDate, today } from '../../core/dates.js';
import { h } from '../../core/dom.js';

export const API = '/api/v1/counterparties';
export const RELATIONS = ['buyer', 'supplier', 'other'];
export const LEGAL_FORMS = ['legal', 'natural'];
export const CONTACT_TYPES = ['phone', 'email', 'address', 'web', 'other'];

/** One relation as translated text (follows the language switch). */
export function relationText(relation) {
  return h('span', { class: 'relation', i18n: `cp.relation.${relation}` });
}

/** The relations of a record, comma separated. */
export function relationsText(relations) {
  const parts = [];
  for (const [i, relation] of (relations || []).entries()) {
    if (i) parts.push(', ');
    parts.push(relationText(relation));
  }
  return h('span', {}, parts.length ? parts : '—');
}

/**
 * The groups depth first, children under their parent: [{ entry, depth }]. Groups whose parent is
 * missing are roots; a cycle (which the server refuses) cannot loop here.
 */
export function groupTree(groups) {
  const codes = new Set(groups.map((g) => g.code));
  const children = new Map();
  for (const group of groups) {
    const parent = codes.has(group.attributes?.parent) ? group.attributes.parent : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(group);
  }
  const out = [];
  const seen = new Set();
  const walk = (parent, depth) => {
    for (const entry of children.get(parent) || []) {
      if (seen.has(entry.code)) continue;
      seen.add(entry.code);
      out.push({ entry, depth });
      walk(entry.code, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

/** "Top / Middle / Group": the names from the root down to `code` ('' for none). */
export function groupPath(groups, code) {
  if (!code) return '';
  const byCode = new Map(groups.map((g) => [g.code, g]));
  const names = [];
  const seen = new Set();
  let current = code;
  while (current && !seen.has(current)) {
    seen.add(current);
    const group = byCode.get(current);
    names.unshift(group?.name ?? current);
    current = group?.attributes?.parent ?? null;
  }
  return names.join(' / ');
}

/** The ABC classes analytics gives (the list filters by them). */
export const ABC_CLASSES = ['A', 'B', 'C'];
/** The relationship stages and XYZ classes analytics gives (the list filters by them too). */
export const STAGES = ['potential', 'one-time', 'regular', 'lost'];
export const XYZ_CLASSES = ['X', 'Y', 'Z'];

/**
 * What analytics says of a counterparty as a badge: `content` (`{ text }` or `{ i18n }`), with the
 * run it comes from in its tooltip (`title`, filled from `args`) and an accessible name.
 */
function analyticsBadge(className, content, { title, label, args, dataset }) {
  return h('span', {
    class: className,
    ...content,
    i18nArgs: args,
    i18nAttrs: label ? { title, 'aria-label': label } : { title },
    dataset,
  });
}

/**
 * The counterparty's ABC class in force as a badge (null when never classified): the class, with
 * the period, the previous class and a hand-set mark in its tooltip.
 */
export function abcBadge(record) {
  const abc = record.abc;
  if (!record.abc_class || !abc) return null;
  const args = { class: abc.class, previous: abc.previous_class || '', from: abc.period_from, to: abc.period_to };
  const title = abc.previous_class ? 'cp.abc.title' : 'cp.abc.titleNew';
  return analyticsBadge(
    `analytics-class analytics-class-${record.abc_class.toLowerCase()} cp-abc-badge`,
    { text: record.abc_class },
    { title: abc.overridden ? `${title}Overridden` : title, label: 'cp.abc.label', args, dataset: { abcClass: record.abc_class } },
  );
}

// The stage run a stage or XYZ class comes from, for their tooltips: its date and scheme, and
// whether the customer is new in it.
function relationshipTitle(record) {
  const run = record.relationship;
  return {
    title: run.previous_stage ? 'cp.relationship.title' : 'cp.relationship.titleNew',
    args: { as_of: run.as_of, scheme: run.scheme, class: record.xyz_class || '' },
  };
}

/** The counterparty's relationship stage in force as a badge (null when never staged). */
export function stageBadge(record) {
  if (!record.stage || !record.relationship) return null;
  return analyticsBadge(
    `badge cp-stage-badge cp-stage-${record.stage}`,
    { i18n: `cp.stage.${record.stage}` },
    { ...relationshipTitle(record), dataset: { stage: record.stage } },
  );
}

/** The counterparty's XYZ class in force as a badge (null when not a regular customer). */
export function xyzBadge(record) {
  if (!record.xyz_class || !record.relationship) return null;
  return analyticsBadge(
    `analytics-class xyz-class-${record.xyz_class.toLowerCase()} cp-xyz-badge`,
    { text: record.xyz_class },
    { ...relationshipTitle(record), label: 'cp.xyz.label', dataset: { xyzClass: record.xyz_class } },
  );
}

/** The main entry of contact type `type` (or the first of that type), or undefined. */
/** External codes as text: the ERP's as they are, another system's as `system: code`. */
export function codesText(codes) {
  return (codes || []).map((c) => (c.system === 'erp' ? c.code : `${c.system}: ${c.code}`)).join(', ');
}

export function mainContact(record, type) {
  const ofType = (record.contact_info || []).filter((c) => c.type === type);
  return ofType.find((c) => c.main) ?? ofType[0];
}

/** A contact value as a link where it can be one (tel:, mailto:, the web address). */
export function contactValue(entry) {
  const hrefs = { phone: `tel:${entry.value}`, email: `mailto:${entry.value}`, web: entry.value };
  const href = hrefs[entry.type];
  if (href && (entry.type !== 'web' || /^https?:/i.test(entry.value))) {
    return h('a', { href, text: entry.value, rel: entry.type === 'web' ? 'noopener noreferrer' : null });
  }
  return h('span', { text: entry.value });
}

/**
 * For showFormErrors (forms.js): the validation type of a refused contact value
 * (`contact_info[1].value`, by the row's contact type) or property value (`properties.color`, by
 * the property's value type), so the message is worded for that type.
 */
export function contactErrorType(typeOfRow, valueTypeOf) {
  return (name) => {
    const row = /^contact_info\[(\d+)\]\.value$/.exec(name);
    const property = /^properties\.(.+)$/.exec(name);
    if (row) return `cp.contact.${typeOfRow(Number(row[1]))}`;
    if (property) return `cp.property.${valueTypeOf(property[1])}`;
    return undefined;
  };
}

/**
 * The information sources, newest first, each with { source, on, until, current, expired }: a
 * source lasts `actuality_days` of its catalog entry from its date (0: it does not expire) and is
 * current from its date until a later one is recorded.
 */
export function sourceHistory(sources, catalog, now = today()) {
  const sorted = [...(sources || [])].sort((a, b) => (a.on < b.on ? 1 : a.on > b.on ? -1 : 0));
  const current = sorted.find((s) => s.on <= now);
  return sorted.map((s) => {
    const days = Number(catalog.find((e) => e.code === s.source)?.attributes?.actuality_days ?? 0);
    const until = days > 0 ? addDays(s.on, days) : null;
    return { ...s, until, current: s === current, expired: until !== null && until < now };
  });
}

/** A property value as text, by the definition's value type. */
export function propertyText(definition, value) {
  if (value === null || value === undefined || value === '') return h('span', { text: '—' });
  switch (definition?.attributes?.value_type) {
    case 'boolean':
      return h('span', { i18n: value ? 'cp.yes' : 'cp.no' });
    case 'date':
      return h('span', { text: formatDate(value) });
    default:
      return h('span', { text: String(value) });
  }
}
