import type {
  ChapterStatusPayload,
  DocumentEventName,
  DocumentEventPayloads,
  DocumentProgressPayload,
  PackageStage,
} from './events.ts';

/**
 * A document's live state in Redis, folded from its events by the publish
 * script, so a snapshot's state and its seq are always read together.
 * Fields: `epoch`, `seq`, `c:<chapter id>` (latest chapter.status),
 * `d` (latest document.progress), `p` (package stage).
 */
export interface LiveState {
  epoch: string;
  seq: number;
  chapters: Map<string, Omit<ChapterStatusPayload, 'chapter_id'>>;
  progress: DocumentProgressPayload | undefined;
  packageStage: PackageStage | undefined;
}

export interface StatePatch {
  /**
   * The event is dropped when the state under the first patched field holds
   * a higher version than this: a chapter's status never goes back to an
   * older version's (a slow run of the old text reporting after the new
   * text's result).
   */
  guardVersion: number | undefined;
  /** Field/value pairs to set. */
  fields: string[];
}

/** The state fields an event sets, as field/value pairs for publish-event.lua, and its version guard. */
export function statePatchFor<N extends DocumentEventName>(name: N, payload: DocumentEventPayloads[N]): StatePatch {
  switch (name) {
    case 'chapter.status': {
      const { chapter_id, truncated, ...rest } = payload as ChapterStatusPayload & { truncated?: string[] };
      // A summary cut to fit the event is left out: the snapshot then shows the stored, whole one.
      if (truncated?.includes('summary')) delete rest.summary;
      return { guardVersion: rest.version ?? undefined, fields: [`c:${chapter_id}`, JSON.stringify(rest)] };
    }
    case 'document.progress':
      return { guardVersion: undefined, fields: ['d', JSON.stringify(payload)] };
    case 'package.essential':
      return { guardVersion: undefined, fields: ['p', 'essential'] };
    case 'package.full':
      return { guardVersion: undefined, fields: ['p', 'full'] };
    default:
      return { guardVersion: undefined, fields: [] };
  }
}

/** Parses HGETALL's flat reply. */
export function parseLiveState(flat: string[]): LiveState {
  const state: LiveState = { epoch: '', seq: 0, chapters: new Map(), progress: undefined, packageStage: undefined };
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const field = flat[i]!;
    const value = flat[i + 1]!;
    if (field === 'epoch') state.epoch = value;
    else if (field === 'seq') state.seq = Number(value);
    else if (field === 'd') state.progress = JSON.parse(value) as DocumentProgressPayload;
    else if (field === 'p') state.packageStage = value as PackageStage;
    else if (field.startsWith('c:')) state.chapters.set(field.slice(2), JSON.parse(value));
  }
  return state;
}
