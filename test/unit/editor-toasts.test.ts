import { describe, expect, it } from 'vitest';
import type { DocumentState } from '../../realtime/client/index.ts';
import { notableChanges } from '../../realtime/page/notable.ts';

const chapter = (id: string, status: 'queued' | 'processing' | 'completed' | 'failed', error: string | null = null) => ({
  id,
  index: Number(id.slice(1)),
  title: `Chapter ${id}`,
  status,
  progress: status === 'completed' ? 100 : 0,
  summary: null,
  error,
  version: 1,
  summaryVersion: null,
});

const state = (status: DocumentState['status'], chapters: DocumentState['chapters'], stage: 'essential' | 'full' | null = null): DocumentState => ({
  id: 'd',
  title: 'Harbour',
  status,
  progress: { completed: 0, failed: 0, total: chapters.length, status },
  chapters,
  package: { stage, content: null },
});

describe('the editor’s toasts', () => {
  it('announces a finished document, a failed chapter and each package stage, once, with ids every tab agrees on', () => {
    const before = state('processing', [chapter('c0', 'processing'), chapter('c1', 'queued')]);
    const after = state('partial', [chapter('c0', 'completed'), chapter('c1', 'failed', 'model timed out')], 'essential');
    const toasts = notableChanges(before, after);
    expect(toasts.map((t) => t.id)).toEqual(['d:chapter:c1:failed:1', 'd:partial', 'd:package:essential']);
    expect(toasts[0]).toMatchObject({ kind: 'error', body: 'model timed out' });
    expect(notableChanges(after, after)).toEqual([]);
    expect(notableChanges(after, { ...after, package: { stage: 'full', content: null } }).map((t) => t.id)).toEqual(['d:package:full']);
  });

  it('says nothing about a document it has just opened', () => {
    expect(notableChanges(undefined, state('completed', [chapter('c0', 'completed')], 'full'))).toEqual([]);
  });
});
