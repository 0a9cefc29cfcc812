import { isFinished } from '../../domain/vocabulary.ts';
import type {
  ChapterStatus,
  DocumentEvent,
  DocumentEventName,
  DocumentProgressPayload,
  DocumentSnapshot,
  DocumentStatus,
  PackageStage,
} from '../events.ts';

/** One chapter as a document store holds it. */
export interface ChapterState {
  id: string;
  index: number;
  /** Null for a chapter first seen through an event (its title comes with the next snapshot). */
  title: string | null;
  status: ChapterStatus;
  /** 0..100 */
  progress: number;
  summary: string | null;
  error: string | null;
  /** The chapter's content version, when known. */
  version: number | null;
  /** The version `summary` was computed from. */
  summaryVersion: number | null;
}

/** The package: `essential` as soon as it exists, replaced by `full`; `content` is what the server sent. */
export interface PackageState {
  stage: PackageStage | null;
  content: Record<string, unknown> | null;
}

/**
 * A document as the SDK keeps it: the subscribe snapshot with every later
 * event folded in. Plain JSON (it crosses tabs via BroadcastChannel) and
 * never mutated: every change makes a new object, so a UI can compare the
 * previous state with the next.
 */
export interface DocumentState {
  id: string;
  title: string | null;
  status: DocumentStatus;
  /** The latest counts the server sent. */
  progress: DocumentProgressPayload;
  /** In index order. */
  chapters: ChapterState[];
  package: PackageState;
}

/** The state a subscribe snapshot describes. */
export function stateFromSnapshot(snapshot: DocumentSnapshot): DocumentState {
  const { stage, ...rest } = snapshot.package as DocumentSnapshot['package'] & Record<string, unknown>;
  return {
    id: snapshot.document.id,
    title: snapshot.document.title,
    status: snapshot.document.status,
    progress: { ...snapshot.document.progress },
    chapters: snapshot.chapters
      .map((c) => ({
        id: c.id,
        index: c.index,
        title: c.title,
        status: c.status,
        progress: c.progress,
        summary: c.summary,
        error: c.error,
        version: c.version,
        summaryVersion: c.summary_version,
      }))
      .sort((a, b) => a.index - b.index),
    // A snapshot may carry the package's content beside its stage (servers that store it do).
    package: { stage, content: stage && Object.keys(rest).length > 0 ? { stage, ...rest } : null },
  };
}

/** Folds one event into the state; returns the same object when the event changes nothing a store keeps. */
export function applyEvent(state: DocumentState, name: DocumentEventName, event: DocumentEvent): DocumentState {
  switch (name) {
    case 'chapter.status': {
      const e = event as DocumentEvent<'chapter.status'>;
      return updateChapter(state, e.chapter_id, e.index, (c) => ({
        ...c,
        status: e.status,
        progress: e.progress,
        // A retry announces `queued` with the error; a later success clears it.
        error: e.error ?? (e.status === 'completed' ? null : c.error),
        summary: e.summary ?? c.summary,
        summaryVersion: e.summary !== undefined ? (e.version ?? c.summaryVersion) : c.summaryVersion,
      }));
    }
    case 'document.progress': {
      const { completed, failed, total, status } = event as DocumentEvent<'document.progress'>;
      return { ...state, status, progress: { completed, failed, total, status } };
    }
    case 'package.essential':
    case 'package.full': {
      const e = event as DocumentEvent<'package.full'>;
      const stage: PackageStage = name === 'package.full' ? 'full' : 'essential';
      // The full package is never replaced by an essential one, whatever arrives late.
      if (state.package.stage === 'full' && stage === 'essential') return state;
      return { ...state, package: { stage, content: e.package } };
    }
    case 'chapter.updated': {
      const e = event as DocumentEvent<'chapter.updated'>;
      return updateChapter(state, e.chapter_id, undefined, (c) => ({ ...c, version: e.version }));
    }
    default:
      return state;
  }
}

function updateChapter(state: DocumentState, id: string, index: number | undefined, change: (c: ChapterState) => ChapterState): DocumentState {
  const at = state.chapters.findIndex((c) => c.id === id);
  if (at === -1) {
    if (index === undefined) return state;
    const blank: ChapterState = { id, index, title: null, status: 'queued', progress: 0, summary: null, error: null, version: null, summaryVersion: null };
    const chapters = [...state.chapters, change(blank)].sort((a, b) => a.index - b.index);
    return { ...state, chapters };
  }
  const chapters = state.chapters.slice();
  chapters[at] = change(chapters[at]!);
  return { ...state, chapters };
}

/**
 * How far the document is, 0..1, counting each chapter's own progress, so a
 * progress bar moves while chapters are still processing.
 */
export function documentCompletion(state: DocumentState): number {
  if (state.chapters.length === 0) return state.status === 'processing' ? 0 : 1;
  let sum = 0;
  for (const c of state.chapters) sum += isFinished(c.status) ? 1 : Math.min(c.progress, 99) / 100;
  return sum / state.chapters.length;
}
