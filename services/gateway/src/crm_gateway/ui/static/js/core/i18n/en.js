// English texts shared by every feature: navigation, header, common buttons, errors and
// validation. Each feature has its own in features/<name>/i18n/; bg.js has the same keys.
export default {
  'nav.label': 'Main navigation',

  'header.language': 'Language',
  'header.menu': 'Menu',
  'header.more': 'More pages',
  'header.signOut': 'Sign out',
  'common.loading': 'Loading…',
  'connection.lost': 'No connection to the server — retrying…',

  'form.save': 'Save',
  'form.cancel': 'Cancel',
  'form.failed': 'Check the fields.',
  'conflict.text':
    'Someone else changed this record while you were editing it. Reload to get the current version (your changes here will be lost).',
  'conflict.reload': 'Reload',

  'validation.missing': 'Required.',
  'validation.string_too_short': 'Required.',
  'validation.string_too_long': 'Too long.',
  'validation.string_pattern_mismatch': 'Invalid format.',
  'validation.literal_error': 'Choose a value from the list.',
  'validation.extra_forbidden': 'The server does not know this field.',

  'error.connection': 'No connection to the server. Nothing was saved — try again.',
  'error.unexpected': 'Something went wrong.',
  'error.http.400': 'The request was not valid.',
  'error.http.403': 'You are not allowed to do this.',
  'error.http.404': 'Not found.',
  'error.http.409': 'Someone else changed this at the same time.',
  'error.http.413': 'Too much data in one request.',
  'error.http.422': 'Check the data you entered.',
  'error.http.429': 'Too many requests. Wait a little and try again.',
  'error.http.500': 'The server failed.',
  'error.http.503': 'The service is unavailable for a moment. Try again.',
  'error.http.504': 'The server took too long to answer.',
  'error.http.other': 'The server answered with an error ({status}).',

  'picker.found': '{count} found — pick with the arrow keys and Enter, or click.',
  'picker.none': 'Nothing found.',
  'picker.remove': 'Remove',
  'picker.userPlaceholder': 'Type a name…',

  'notFound.title': 'Not found',
  'notFound.text': 'There is no such page or record, or you have no access to it.',
  'notFound.back': 'Back to the home page',
};
