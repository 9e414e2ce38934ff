// The information sources tab ("how did they find us"): the current source and until when it is
// current (its catalog entry's actuality_days from its date), the dated history, and a form to
// record a source as of a date.
import * as api from '../../../core/api.js';
import { API, sourceHistory } from '../counterparty-fields.js';
import { formatDate, today } from '../../../core/dates.js';
import { h } from '../../../core/dom.js';
import { busy, clearErrors, field, formAlert, input, setFieldError, showErrors } from '../../../core/forms.js';
import { active, nameOf } from '../../../core/reference-cache.js';
import { scrollable } from '../../../core/widgets.js';

export function render(record, env) {
  const catalog = env.catalogs.sources;
  const history = sourceHistory(record.sources, catalog);
  const current = history.find((s) => s.current);
  return h(
    'div',
    {},
    currentBox(current, catalog),
    history.length ? table(history, catalog) : null,
    env.canWrite && !record.archived ? recordForm(env, catalog) : null,
  );
}

function currentBox(current, catalog) {
  if (!current) {
    return h('div', { class: 'alert alert-warning cp-source-current' }, h('p', { i18n: 'cp.sources.noneCurrent' }));
  }
  const until = current.until
    ? h('span', {
        i18n: current.expired ? 'cp.sources.expiredOn' : 'cp.sources.validUntil',
        i18nArgs: { date: formatDate(current.until) },
      })
    : h('span', { i18n: 'cp.sources.noExpiry' });
  return h(
    'div',
    { class: `alert ${current.expired ? 'alert-warning' : 'alert-success'} cp-source-current` },
    h(
      'p',
      {},
      h('span', { i18n: 'cp.sources.current' }),
      ' ',
      h('strong', { text: nameOf(catalog, current.source) }),
      ' ',
      h('span', { i18n: 'cp.sources.since', i18nArgs: { date: formatDate(current.on) } }),
    ),
    h('p', {}, until),
  );
}

function table(history, catalog) {
  return scrollable(
    h(
      'table',
      { class: 'data-table cp-source-table' },
      h('caption', { class: 'visually-hidden', i18n: 'cp.tab.sources' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['cp.sources.on', 'cp.field.source', 'cp.sources.until'].map((key) => h('th', { scope: 'col', i18n: key })),
        ),
      ),
      h(
        'tbody',
        {},
        history.map((s) =>
          h(
            'tr',
            { class: s.current ? 'cp-current' : null },
            h('td', { text: formatDate(s.on) }),
            h(
              'td',
              {},
              h('span', { text: nameOf(catalog, s.source) }),
              s.current ? [' ', h('span', { class: 'badge', i18n: 'cp.sources.currentBadge' })] : null,
            ),
            h(
              'td',
              {},
              s.until ? formatDate(s.until) : h('span', { i18n: 'cp.sources.noExpiryShort' }),
              s.expired ? [' ', h('span', { class: 'badge badge-warn', i18n: 'cp.sources.expired' })] : null,
            ),
          ),
        ),
      ),
    ),
  );
}

function recordForm(env, catalog) {
  const source = h(
    'select',
    {},
    h('option', { value: '', text: '—' }),
    active(catalog).map((e) => h('option', { value: e.code, text: e.name })),
  );
  const on = input({ type: 'date', value: today() });
  const form = h(
    'form',
    { class: 'form panel cp-source-form', novalidate: true },
    h('h2', { i18n: 'cp.sources.record' }),
    formAlert(),
    field({ name: 'source', label: 'cp.field.source', control: source, required: true }),
    field({ name: 'on', label: 'cp.sources.on', control: on }),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button primary', i18n: 'cp.sources.submit' }),
    ),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!source.value) {
      setFieldError(form, 'source', 'cp.sources.choose');
      source.focus();
      return;
    }
    busy(form, true);
    try {
      const body = { source: source.value, on: on.value || null };
      const { position } = await api.post(`${API}/${encodeURIComponent(env.id)}/sources`, body, {
        idempotencyKey: api.newIdempotencyKey(),
      });
      env.reload('sources', position);
    } catch (error) {
      busy(form, false);
      if (error.status !== 401) showErrors(form, error, 'cp.sources.failed');
    }
  });
  return form;
}
