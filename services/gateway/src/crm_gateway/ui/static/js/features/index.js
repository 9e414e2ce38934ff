// Every feature of the UI: one folder each, with its manifest (feature.js). To add a feature,
// create its folder and add it to this list; features/README.md says how, step by step. The
// order here does not matter: header links follow their `order`, and for routing literal path
// segments beat :params.
import access from './access/feature.js';
import analytics from './analytics/feature.js';
import contacts from './contacts/feature.js';
import interactions from './interactions/feature.js';

export default [access, analytics, contacts, interactions];
