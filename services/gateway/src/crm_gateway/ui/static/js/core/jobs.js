// Import and export jobs of any service (the kernel's job routes under a service's prefix: contacts'
// at /api/v1/jobs, analytics' at /api/v1/analytics/jobs): follow one (polling GET <base>/jobs/{id}),
// show its progress, its counts and its rejected rows, list the user's recent jobs, and the whole
// import page flow (choose a CSV file, upload it with its progress, follow the job, stop it).
// Used by contacts' import and export pages and analytics' trade-facts import.
import * as api from './api.js';
import { dateTime, h } from './dom.js';
import { field, formAlert } from './forms.js';
import { replaceQuery } from './router.js';
import { errorBox, scrollable } from './widgets.js';

const POLL_MS = 500;
const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

export function isFinished(job) {
  return FINISHED.has(job.state);
}

/** The URL of one job under `base` (the service's prefix, e.g. '/api/v1'). */
export function jobUrl(base, id) {
  return `${base}/jobs/${encodeURIComponent(id)}`;
}

/** Poll the job under `base` until it finishes (or `signal` aborts); `onUpdate(job)` after every answer. */
export async function follow(job, { base, signal, onUpdate }) {
  let current = job;
  onUpdate(current);
  while (!isFinished(current)) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (signal?.aborted) return current;
    try {
      current = (await api.get(jobUrl(base, current.id), { signal })).data;
    } catch (error) {
      if (error.name === 'AbortError') return current;
      throw error;
    }
    onUpdate(current);
  }
  return current;
}

/**
 * The progress of a job: its state, a progress bar (indeterminate while the total is unknown) and
 * the counts, worded by the text `countsKey(job)` (with done, total, accepted, unchanged, rejected).
 * Returns { element, update(job) }.
 */
export function progressView({ countsKey }) {
  const state = h('p', { class: 'job-state', role: 'status' });
  const bar = h('progress', { max: '1', 'aria-label': '' });
  bar.dataset.i18nAttrs = JSON.stringify({ 'aria-label': 'jobs.progress' });
  const counts = h('p', { class: 'muted job-counts' });
  const error = h('div');
  const element = h('div', { class: 'job-progress', hidden: true }, state, bar, counts, error);

  function update(job) {
    element.hidden = false;
    const p = job.progress;
    state.replaceChildren(h('span', { i18n: `jobs.state.${job.state}` }));
    state.dataset.state = job.state;
    if (p.total > 0) {
      bar.max = p.total;
      bar.value = p.done;
    } else if (isFinished(job)) {
      bar.max = 1;
      bar.value = 1;
    } else {
      bar.removeAttribute('value');
    }
    counts.replaceChildren(h('span', { i18n: countsKey(job), i18nArgs: { done: p.done, total: p.total || p.done, ...p } }));
    counts.dataset.done = String(p.done);
    error.replaceChildren(
      job.error ? h('div', { class: 'alert alert-error', role: 'alert' }, h('p', { text: job.error })) : '',
    );
  }
  return { element, update };
}

/**
 * The rejected rows of an import (the first ones) and a link to the whole report. `nameKey` heads
 * the column of what each row named (a counterparty's name, a fact's id).
 */
export function rejectedView(job, { nameKey }) {
  if (!job.rejected.length) return h('div');
  const rows = job.rejected.map((r) =>
    h(
      'tr',
      {},
      h('td', { text: String(r.line) }),
      h('td', { text: r.column || '—' }),
      h('td', { text: r.reason }),
      h('td', { text: r.name || '' }),
    ),
  );
  const table = h(
    'table',
    { class: 'data-table rejected-rows' },
    h('caption', { i18n: 'jobs.rejectedTitle', i18nArgs: { count: job.progress.rejected } }),
    h(
      'thead',
      {},
      h('tr', {}, ['jobs.line', 'jobs.column', 'jobs.reason', nameKey].map((key) => h('th', { scope: 'col', i18n: key }))),
    ),
    h('tbody', {}, rows),
  );
  return h(
    'div',
    { class: 'job-rejected' },
    scrollable(table),
    job.progress.rejected > job.rejected.length
      ? h('p', { class: 'muted', i18n: 'jobs.moreInReport', i18nArgs: { shown: job.rejected.length } })
      : null,
    job.report ? h('p', {}, h('a', { class: 'button', href: job.report, download: '', i18n: 'jobs.downloadReport' })) : null,
  );
}

/** The user's recent jobs of one kind under `base`, each linking to its page with ?job=<id>. */
export async function recentJobs({ base, kind, pagePath, signal }) {
  const { data } = await api.get(`${base}/jobs`, { query: { limit: 20 }, signal });
  const mine = data.items.filter((job) => job.kind === kind).slice(0, 10);
  if (!mine.length) return h('p', { class: 'muted', i18n: 'jobs.none' });
  return scrollable(
    h(
      'table',
      { class: 'data-table recent-jobs' },
      h('caption', { class: 'visually-hidden', i18n: 'jobs.recent' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['jobs.created', 'jobs.stateColumn', 'jobs.rows'].map((key) => h('th', { scope: 'col', i18n: key })),
        ),
      ),
      h(
        'tbody',
        {},
        mine.map((job) =>
          h(
            'tr',
            {},
            h('td', {}, h('a', { href: `#${pagePath}?job=${encodeURIComponent(job.id)}` }, dateTime(job.created_at))),
            h('td', { i18n: `jobs.state.${job.state}` }),
            h('td', { text: String(job.progress.done) }),
          ),
        ),
      ),
    ),
  );
}

/**
 * The import flow of a page: a form to choose a CSV file (`fileLabel`, `fileHint`, `columns` listed
 * under it), its upload to `uploadUrl` with the upload's progress, then the job under `base` live
 * (progress bar and counts worded by `countsKey(job)`, a Stop button, the rejected rows with
 * `nameKey` heading their last column, the report), and the user's recent imports. The page's
 * address gets ?job=<id>, which reopens that import. Returns the nodes to place under the heading.
 */
export function importFlow(ctx, { uploadUrl, base, pagePath, fileLabel, fileHint, columns, submitKey, countsKey, nameKey }) {
  const file = h('input', { type: 'file', accept: '.csv,.txt,text/csv' });
  const submit = h('button', { type: 'submit', class: 'button primary', i18n: submitKey });
  const cancel = h('button', { type: 'button', class: 'button', i18n: 'jobs.cancel', hidden: true });
  const alert = formAlert();
  const uploading = h('p', { class: 'muted', role: 'status', hidden: true });
  const progress = progressView({ countsKey });
  const rejected = h('div');
  const recent = h('div');
  let current = null;

  const form = h(
    'form',
    { class: 'import-form', on: { submit: (e) => start(e) } },
    alert,
    field({ name: 'file', label: fileLabel, control: file, hint: fileHint, required: true }),
    h('p', { class: 'field-hint' }, h('span', { i18n: 'jobs.columns' }), ' ', h('code', { text: columns })),
    h('div', { class: 'form-actions' }, submit, cancel),
  );

  async function start(event) {
    event.preventDefault();
    alert.replaceChildren();
    rejected.replaceChildren();
    const chosen = file.files?.[0];
    if (!chosen) {
      alert.append(h('p', { i18n: 'jobs.chooseFile' }));
      file.focus();
      return;
    }
    submit.disabled = true;
    try {
      const job = await upload(uploadUrl, chosen, (sent, total) => {
        uploading.hidden = false;
        uploading.replaceChildren(
          h('span', { i18n: 'jobs.uploading', i18nArgs: { percent: Math.floor((100 * sent) / (total || 1)) } }),
        );
      });
      uploading.hidden = true;
      replaceQuery(pagePath, { job: job.id });
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
      base,
      signal: ctx.signal,
      onUpdate: (latest) => {
        current = latest;
        progress.update(latest);
        cancel.hidden = isFinished(latest);
      },
    });
    if (ctx.signal.aborted) return;
    rejected.replaceChildren(rejectedView(done, { nameKey }));
    showRecent();
  }

  cancel.addEventListener('click', async () => {
    if (!current) return;
    cancel.disabled = true;
    try {
      await api.post(`${jobUrl(base, current.id)}/cancel`);
    } catch (error) {
      alert.replaceChildren(errorBox(error));
    } finally {
      cancel.disabled = false;
    }
  });

  async function showRecent() {
    try {
      recent.replaceChildren(await recentJobs({ base, kind: 'import', pagePath, signal: ctx.signal }));
    } catch (error) {
      if (error.name !== 'AbortError') recent.replaceChildren(errorBox(error));
    }
  }

  const reopen = ctx.query.get('job');
  if (reopen) {
    api
      .get(jobUrl(base, reopen), { signal: ctx.signal })
      .then(({ data }) => watch(data))
      .catch((error) => {
        if (error.name !== 'AbortError') alert.replaceChildren(errorBox(error));
      });
  } else {
    showRecent();
  }

  return [form, uploading, progress.element, rejected, h('h2', { i18n: 'jobs.recent' }), recent];
}

// The upload goes through XMLHttpRequest, which reports how much of a large file was sent; the CSRF
// token is the one api.js keeps (an unsafe request must echo it).
function upload(url, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${url}?filename=${encodeURIComponent(blob.name || 'upload.csv')}`);
    xhr.setRequestHeader('Content-Type', 'text/csv');
    xhr.setRequestHeader('Accept', 'application/json, application/problem+json');
    const token = api.csrfToken();
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
