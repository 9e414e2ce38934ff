// Import of counterparties from a CSV file: choose the file, upload it (with its upload progress),
// then follow the import job live: a progress bar, the counts, the rejected rows with their line
// numbers and reasons, and the whole report to download. ?job=<id> reopens an earlier import.
import * as api from '../../core/api.js';
import { h } from '../../core/dom.js';
import { field, formAlert } from '../../core/forms.js';
import { JOBS_API, follow, isFinished, progressView, recentJobs, rejectedView } from './jobs.js';
import { replaceQuery } from '../../core/router.js';
import { errorBox, heading } from '../../core/widgets.js';

export const path = '/import';
export const titleKey = 'import.title';
export const permission = 'counterparty:import';

const UPLOAD = '/api/v1/imports/counterparties';
const COLUMNS =
  'id, name, relations, legal_form, tax_id, vat_id, group, head_counterparty_id, region, comment, ' +
  'activity_kinds, main_manager, managers, access_group, categories, source, source_date, contact:<kind>, property:<code>';

export function render(ctx) {
  const file = h('input', { type: 'file', accept: '.csv,.txt,text/csv' });
  const submit = h('button', { type: 'submit', class: 'button primary', i18n: 'import.submit' });
  const cancel = h('button', { type: 'button', class: 'button', i18n: 'jobs.cancel', hidden: true });
  const alert = formAlert();
  const uploading = h('p', { class: 'muted', role: 'status', hidden: true });
  const progress = progressView();
  const rejected = h('div');
  const recent = h('div');
  let current = null;

  const form = h(
    'form',
    { class: 'import-form', on: { submit: (e) => start(e) } },
    alert,
    field({ name: 'file', label: 'import.file', control: file, hint: 'import.fileHint', required: true }),
    h('p', { class: 'field-hint' }, h('span', { i18n: 'import.columns' }), ' ', h('code', { text: COLUMNS })),
    h('div', { class: 'form-actions' }, submit, cancel),
  );

  async function start(event) {
    event.preventDefault();
    alert.replaceChildren();
    rejected.replaceChildren();
    const chosen = file.files?.[0];
    if (!chosen) {
      alert.append(h('p', { i18n: 'import.chooseFile' }));
      file.focus();
      return;
    }
    submit.disabled = true;
    try {
      const job = await upload(chosen, (sent, total) => {
        uploading.hidden = false;
        uploading.replaceChildren(
          h('span', { i18n: 'import.uploading', i18nArgs: { percent: Math.floor((100 * sent) / (total || 1)) } }),
        );
      });
      uploading.hidden = true;
      replaceQuery(path, { job: job.id });
      await watch(job);
    } catch (error) {
      uploading.hidden = true;
      alert.replaceChildren(errorBox(error));
    } finally {
      submit.disabled = false;
    }
  }

  async function watch(job) {
    current = job;
    cancel.hidden = isFinished(job);
    const done = await follow(job, {
      signal: ctx.signal,
      onUpdate: (latest) => {
        current = latest;
        progress.update(latest);
        cancel.hidden = isFinished(latest);
      },
    });
    if (ctx.signal.aborted) return;
    rejected.replaceChildren(rejectedView(done));
    showRecent();
  }

  cancel.addEventListener('click', async () => {
    if (!current) return;
    cancel.disabled = true;
    try {
      await api.post(`${JOBS_API}/${encodeURIComponent(current.id)}/cancel`);
    } catch (error) {
      alert.replaceChildren(errorBox(error));
    } finally {
      cancel.disabled = false;
    }
  });

  async function showRecent() {
    try {
      recent.replaceChildren(await recentJobs('import', path, ctx.signal));
    } catch (error) {
      if (error.name !== 'AbortError') recent.replaceChildren(errorBox(error));
    }
  }

  const reopen = ctx.query.get('job');
  if (reopen) {
    api
      .get(`${JOBS_API}/${encodeURIComponent(reopen)}`, { signal: ctx.signal })
      .then(({ data }) => watch(data))
      .catch((error) => {
        if (error.name !== 'AbortError') alert.replaceChildren(errorBox(error));
      });
  } else {
    showRecent();
  }

  return h(
    'section',
    { class: 'import-page' },
    h('div', { class: 'page-head' }, heading('import.title')),
    h('p', { i18n: 'import.intro' }),
    form,
    uploading,
    progress.element,
    rejected,
    h('h2', { i18n: 'jobs.recent' }),
    recent,
  );
}

// The upload goes through XMLHttpRequest, which reports how much of a large file was sent; the CSRF
// token is the one api.js keeps (an unsafe request must echo it).
function upload(blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${UPLOAD}?filename=${encodeURIComponent(blob.name || 'upload.csv')}`);
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    const token = csrfToken();
    if (token) xhr.setRequestHeader('X-CSRF-Token', token);
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.total));
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 202) resolve(body);
      else reject(new api.ApiError(xhr.status, body, null));
    });
    xhr.addEventListener('error', () => reject(new api.ConnectionLost('upload failed')));
    xhr.send(blob);
  });
}

function csrfToken() {
  for (const name of ['localStorage', 'sessionStorage']) {
    try {
      const token = window[name].getItem('crm.csrf');
      if (token) return token;
    } catch {
      // storage disabled: no token to send
    }
  }
  return null;
}
