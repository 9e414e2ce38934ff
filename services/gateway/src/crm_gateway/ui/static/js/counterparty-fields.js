// What the counterparty pages share: the kinds, and how a kind is shown.
import { h } from './dom.js';

export const KINDS = ['buyer', 'supplier', 'other'];

/** The kind as translated text (follows the language switch). */
export function kindText(kind) {
  return h('span', { i18n: `kind.${kind}` });
}

export const API = '/api/v1/counterparties';
