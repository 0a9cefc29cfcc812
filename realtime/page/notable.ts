import type { DocumentState, NotificationPayload } from '../client/index.ts';
import type { ToastSpec } from './toasts.ts';
import { writerMessage } from './writer-errors.ts';

/**
 * The one toast id per notable event of a document, shared by the live
 * state (below) and the inbox's notifications, so the two report an event
 * once: finished, its problems (every failure of the document merges into
 * one toast), each package stage, a refresh.
 */
export const toastKey = {
  finished: (documentId: string) => `${documentId}:finished`,
  problems: (documentId: string) => `${documentId}:problems`,
  package: (documentId: string, stage: string) => `${documentId}:package:${stage}`,
  refreshed: (documentId: string) => `${documentId}:refreshed`,
};

/** A document title as toasts quote it. */
export const quoted = (title: string | null | undefined) => `“${title || 'Untitled'}”`;

/**
 * The toasts a change of a document deserves: it finished (or finished with
 * failures), chapters failed or are being retried, a package is ready.
 * Worked out from the states before and after rather than from single
 * events, so a tab that caught up through a snapshot (after a reconnect, or
 * from another tab) still says what happened, and every tab names the toast
 * the same way.
 */
export function notableChanges(previous: DocumentState | undefined, next: DocumentState): ToastSpec[] {
  if (!previous) return [];
  const toasts: ToastSpec[] = [];
  const title = quoted(next.title);
  const before = new Map(previous.chapters.map((c) => [c.id, c]));
  const failed = next.chapters.filter((c) => c.status === 'failed');
  const newlyFailed = failed.filter((c) => before.get(c.id)?.status !== 'failed');
  const troubled = next.chapters.filter((c) => c.status !== 'failed' && c.status !== 'completed' && c.error && !before.get(c.id)?.error);
  if (newlyFailed.length > 0) {
    const count = failed.length === 1 ? '1 chapter' : `${failed.length} chapters`;
    toasts.push({ id: toastKey.problems(next.id), kind: 'error', title: `${title}: ${count} could not be analysed`, body: writerMessage(newlyFailed[0]!.error) });
  } else if (troubled.length > 0 && failed.length === 0) {
    toasts.push({ id: toastKey.problems(next.id), kind: 'warning', title: `${title} is taking longer`, body: writerMessage(troubled[0]!.error, true) });
  }
  if (previous.status === 'processing' && next.status === 'completed') {
    toasts.push({ id: toastKey.finished(next.id), kind: 'success', title: `${title} is ready`, body: `All ${next.chapters.length} chapters are summarised.` });
  }
  if (previous.status === 'processing' && next.status === 'partial') {
    toasts.push({ id: toastKey.finished(next.id), kind: 'warning', title: `${title} finished with problems`, body: `${failed.length} of ${next.chapters.length} chapters failed.` });
  }
  if (next.package.stage !== previous.package.stage && next.package.stage) {
    const full = next.package.stage === 'full';
    toasts.push({
      id: toastKey.package(next.id, next.package.stage),
      kind: 'success',
      title: full ? 'The full package is ready' : 'The essential package is ready',
      body: full ? `${title}: the complete package replaces the essential one.` : `${title}: the full package follows.`,
      ...(full && { replaces: toastKey.package(next.id, 'essential') }),
    });
  }
  return toasts;
}

/**
 * The toast a notification gives, under the same id as the live state's
 * toast for the same event; `titleOf` names the manuscript when the
 * notification's own text does not.
 */
export function notificationToast(n: NotificationPayload, titleOf: (documentId: string) => string | undefined): ToastSpec {
  const notificationIds = [n.id];
  if (!n.document_id) return { id: `notification:${n.id}`, kind: 'info', title: n.title, body: n.body, notificationIds };
  const doc = n.document_id;
  const title = quoted(titleOf(doc));
  switch (n.kind) {
    case 'document.ingested': {
      const problems = /fail/i.test(n.title);
      const heading = problems ? `${title} finished with problems` : `${title} is ready`;
      return { id: toastKey.finished(doc), kind: problems ? 'warning' : 'success', title: heading, body: n.body, notificationIds };
    }
    case 'package.ready':
      return {
        id: toastKey.package(doc, 'full'), replaces: toastKey.package(doc, 'essential'),
        kind: 'success', title: 'The full package is ready', body: `${title}: ${n.body}`, notificationIds,
      };
    case 'job.failed':
      return { id: toastKey.problems(doc), kind: 'error', title: `A problem with ${title}`, body: writerMessage(n.body.replace(/^It failed after [^:]*:\s*/, '')), notificationIds };
    case 'refresh.done':
      return { id: toastKey.refreshed(doc), kind: 'success', title: `${title} is refreshed`, body: n.body, notificationIds };
    default:
      return { id: `notification:${n.id}`, kind: 'info', title: n.title, body: n.body, notificationIds };
  }
}
