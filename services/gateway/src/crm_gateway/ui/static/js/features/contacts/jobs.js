// Import and export jobs: follow one (polling GET /api/v1/jobs/{id}), show its progress, its counts
// and its rejected rows, and list the user's recent jobs. Used by import.js and export.js.
import * as api from '../../core/api.js';
import { dateTime, h } from '../../core/dom.js';
import { scrollable } from '../../core/widgets.js';

export const JOBS_API = '/api/v1/jobs';
const POLL_MS = 500;
const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

export function isFinished(job) {
  return FINISHED.has(job.state);
}

/** Poll the job until it finishes (or `signal` aborts); `onUpdate(job)` after every answer. */
export async function follow(job, { signal, onUpdate }) {
  let current = job;
  onUpdate(current);
  while (!isFinished(current)) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (signal?.aborted) return current;
    try {
      current = (await api.get(`${JOBS_API}/${encodeURIComponent(current.id)}`, { signal })).data;
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
 * the counts. Returns { element, update(job) }.
 */
export function progressView() {
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
    counts.replaceChildren(
      h('span', {
        i18n: job.kind === 'import' ? 'jobs.importCounts' : 'jobs.exportCounts',
        i18nArgs: { done: p.done, total: p.total || p.done, ...p },
      }),
    );
    counts.dataset.done = String(p.done);
    error.replaceChildren(
      job.error ? h('div', { class: 'alert alert-error', role: 'alert' }, h('p', { text: job.error })) : '',
    );
  }
  return { element, update };
}

/** The rejected rows of an import (the first ones) and a link to the whole report. */
export function rejectedView(job) {
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
    h('caption', { i18n: 'import.rejectedTitle', i18nArgs: { count: job.progress.rejected } }),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['import.line', 'import.column', 'import.reason', 'field.name'].map((key) => h('th', { scope: 'col', i18n: key })),
      ),
    ),
    h('tbody', {}, rows),
  );
  return h(
    'div',
    { class: 'job-rejected' },
    scrollable(table),
    job.progress.rejected > job.rejected.length
      ? h('p', { class: 'muted', i18n: 'import.moreInReport', i18nArgs: { shown: job.rejected.length } })
      : null,
    job.report ? h('p', {}, h('a', { class: 'button', href: job.report, download: '', i18n: 'import.downloadReport' })) : null,
  );
}

/** The user's recent jobs of one kind, each linking to its page with ?job=<id>. */
export async function recentJobs(kind, pagePath, signal) {
  const { data } = await api.get(JOBS_API, { query: { limit: 20 }, signal });
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
