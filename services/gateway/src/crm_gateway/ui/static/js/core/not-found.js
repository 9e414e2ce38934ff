// The page for an unknown address, and for a record the user may not see: the two look the same
// on purpose, so the UI does not reveal that a hidden record exists.
import { notFound } from './widgets.js';

export const path = '/not-found';
export const titleKey = 'notFound.title';
export const anonymous = true;

export function render() {
  return notFound();
}
