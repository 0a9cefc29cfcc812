import type { ChapterState, DocumentState } from '../client/index.ts';
import type { Api, JobView } from './api.ts';
import { $, h } from './dom.ts';

export interface DocumentJobsDeps {
  api: Api;
  /** Says what went wrong, in a writer's words. */
  fail(title: string, error: unknown): void;
}

/** How often, at most, the open jobs list is read again while the document changes. */
const JOBS_REFRESH_MS = 2000;

/**
 * The document's job controls: a Retry button on each failed chapter
 * (`POST /api/jobs/:id/retry` on the chapter's job), Stop for a document
 * still being analysed (`DELETE /api/jobs/:id` on each unfinished job), and
 * a compact list of the document's jobs with attempts and timings.
 */
// Longer than ~60 lines on purpose: the open document, its jobs list and when it was read are one state shared by the handlers and `update`.
export function createDocumentJobs(section: HTMLElement, deps: DocumentJobsDeps) {
  const cancel = $<HTMLButtonElement>('[data-testid=document-cancel]', section);
  const details = $<HTMLDetailsElement>('.jobs', section);
  const list = $<HTMLOListElement>('.jobs-list', details);
  let state: DocumentState | undefined;
  let lastRead = 0;

  cancel.addEventListener('click', async () => {
    if (!state) return;
    cancel.disabled = true;
    try {
      const running = (await deps.api.listJobs(state.id)).filter((j) => j.status === 'queued' || j.status === 'processing');
      await Promise.all(running.map((j) => deps.api.cancelJob(j.id).catch(() => undefined)));
      void readJobs(true);
    } catch (error) {
      deps.fail('The analysis could not be stopped', error);
    } finally {
      cancel.disabled = false;
    }
  });
  details.addEventListener('toggle', () => void (details.open && readJobs(true)));

  async function retry(button: HTMLButtonElement, chapter: ChapterState): Promise<void> {
    if (!state) return;
    button.disabled = true;
    try {
      const ids = await failedChapterJobs(deps.api, state.id, chapter);
      if (ids.length === 0) throw new Error('This chapter has no failed job to retry.');
      await Promise.all(ids.map((id) => deps.api.retryJob(id)));
      button.textContent = 'Retrying…';
    } catch (error) {
      button.disabled = false;
      deps.fail(`${chapter.title ?? 'The chapter'} could not be retried`, error);
    }
  }

  async function readJobs(now = false): Promise<void> {
    if (!state || !details.open || (!now && Date.now() - lastRead < JOBS_REFRESH_MS)) return;
    lastRead = Date.now();
    const jobs = await deps.api.listJobs(state.id).catch(() => undefined);
    if (jobs) list.replaceChildren(...(jobs.length ? jobs.slice(0, 20).map(jobLine) : [h('li', { class: 'muted' }, 'No jobs yet.')]));
  }

  return {
    /** Follows the open document: retry buttons on failed chapters, Stop while it is analysed. */
    update(next: DocumentState): void {
      if (state?.id !== next.id) list.replaceChildren();
      state = next;
      cancel.hidden = next.status !== 'processing' || next.chapters.every((c) => c.status === 'completed' || c.status === 'failed');
      for (const chapter of next.chapters) {
        const el = section.querySelector<HTMLElement>(`[data-testid=chapter][data-chapter-id="${chapter.id}"]`);
        if (!el) continue;
        const button = el.querySelector<HTMLButtonElement>('[data-testid=chapter-retry]');
        if (chapter.status !== 'failed') {
          button?.remove();
        } else if (!button) {
          const b = h('button', { type: 'button', class: 'secondary small', 'data-testid': 'chapter-retry' }, 'Retry');
          b.setAttribute('aria-label', `Retry ${chapter.title ?? `chapter ${chapter.index + 1}`}`);
          b.addEventListener('click', () => void retry(b, chapter));
          el.append(b);
        }
      }
      void readJobs();
    },
  };
}

/** One job in a line: what, how it ended, attempts, how long it ran. */
function jobLine(job: JobView): HTMLLIElement {
  const started = job.started_at ? Date.parse(job.started_at) : NaN;
  const ended = job.completed_at ? Date.parse(job.completed_at) : NaN;
  const took = Number.isFinite(started) && Number.isFinite(ended) ? ` · ${formatDuration(ended - started)}` : '';
  const attempts = job.max_attempts > 1 ? ` · attempt ${job.attempts} of ${job.max_attempts}` : '';
  return h(
    'li',
    { 'data-status': job.status, title: job.error ?? '' },
    h('span', { class: 'job-type' }, job.type),
    h('span', { class: 'job-meta' }, `${job.status}${attempts}${took}`),
  );
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** The chapter's failed chapter job(s), as the document's jobs list names them by `chapter_id`. */
async function failedChapterJobs(api: Api, documentId: string, chapter: ChapterState): Promise<string[]> {
  const jobs = await api.listJobs(documentId);
  return jobs.filter((j) => j.chapter_id === chapter.id && j.status === 'failed').map((j) => j.id);
}
