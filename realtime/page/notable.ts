import type { DocumentState } from '../client/index.ts';
import type { ToastSpec } from './toasts.ts';

/**
 * The toasts a change of a document deserves: it finished (or finished with
 * failures), a chapter failed, a package is ready. Worked out from the
 * states before and after rather than from single events, so a tab that
 * caught up through a snapshot (after a reconnect, or from another tab)
 * still says what happened, and every tab names the toast the same way.
 */
export function notableChanges(previous: DocumentState | undefined, next: DocumentState): ToastSpec[] {
  if (!previous) return [];
  const toasts: ToastSpec[] = [];
  const title = `“${next.title ?? 'Untitled'}”`;
  const before = new Map(previous.chapters.map((c) => [c.id, c]));
  for (const c of next.chapters) {
    if (c.status === 'failed' && before.get(c.id)?.status !== 'failed') {
      toasts.push({
        id: `${next.id}:chapter:${c.id}:failed:${c.summaryVersion ?? c.version ?? 0}`,
        kind: 'error',
        title: `${c.title ?? `Chapter ${c.index + 1}`} could not be analysed`,
        ...(c.error && { body: c.error }),
      });
    }
  }
  if (previous.status === 'processing' && next.status === 'completed') {
    toasts.push({ id: `${next.id}:done`, kind: 'success', title: `${title} is ready`, body: `All ${next.chapters.length} chapters are summarised.` });
  }
  if (previous.status === 'processing' && next.status === 'partial') {
    const failed = next.chapters.filter((c) => c.status === 'failed').length;
    toasts.push({ id: `${next.id}:partial`, kind: 'warning', title: `${title} finished with problems`, body: `${failed} of ${next.chapters.length} chapters failed.` });
  }
  if (next.package.stage !== previous.package.stage && next.package.stage) {
    const full = next.package.stage === 'full';
    toasts.push({
      id: `${next.id}:package:${next.package.stage}`,
      kind: 'success',
      title: full ? 'The full package is ready' : 'The essential package is ready',
      body: full ? `${title}: the complete package replaces the essential one.` : `${title}: the full package follows.`,
    });
  }
  return toasts;
}
