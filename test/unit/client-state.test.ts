import { describe, expect, it } from 'vitest';
import { DocumentStore } from '../../realtime/client/document-store.ts';
import { applyEvent, documentCompletion, stateFromSnapshot } from '../../realtime/client/state.ts';
import type { DocumentEvent, DocumentSnapshot } from '../../realtime/events.ts';

const snapshot: DocumentSnapshot = {
  document: {
    id: 'd',
    title: 'T',
    kind: 'book',
    owner_id: 'u',
    status: 'processing',
    word_count: 10,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    progress: { completed: 0, failed: 0, total: 2, status: 'processing' },
  },
  chapters: [1, 0].map((index) => ({
    id: `c${index}`,
    index,
    title: `Chapter ${index + 1}`,
    status: 'queued' as const,
    progress: 0,
    summary: null,
    error: null,
    version: 1,
    summary_version: null,
    word_count: 5,
  })),
  package: { stage: null },
};

const env = (seq: number) => ({ document_id: 'd', seq, at: '2026-01-01T00:00:00.000Z' });

describe('document state in the SDK', () => {
  it('starts from a snapshot with chapters in index order', () => {
    const state = stateFromSnapshot(snapshot);
    expect(state.chapters.map((c) => c.id)).toEqual(['c0', 'c1']);
    expect(state.package).toEqual({ stage: null, content: null });
  });

  it('folds chapter, document and package events, never going back from the full package', () => {
    let state = stateFromSnapshot(snapshot);
    state = applyEvent(state, 'chapter.status', { ...env(1), chapter_id: 'c0', index: 0, status: 'completed', progress: 100, summary: 'S', version: 1 } as DocumentEvent);
    expect(state.chapters[0]).toMatchObject({ status: 'completed', summary: 'S', summaryVersion: 1 });
    expect(documentCompletion(state)).toBe(0.5);
    state = applyEvent(state, 'package.full', { ...env(2), package: { stage: 'full', outline: 'O' } } as DocumentEvent);
    state = applyEvent(state, 'package.essential', { ...env(3), package: { stage: 'essential' } } as DocumentEvent);
    expect(state.package).toEqual({ stage: 'full', content: { stage: 'full', outline: 'O' } });
    state = applyEvent(state, 'document.progress', { ...env(4), completed: 2, failed: 0, total: 2, status: 'completed' } as DocumentEvent);
    expect(state.status).toBe('completed');
  });

  it('applies only the next seq and says why it did not', () => {
    const store = new DocumentStore('d', { release: () => {} });
    const event = (seq: number) => ({ ...env(seq), chapter_id: 'x', version: 2, by: 'u' });
    expect(store.receive('chapter.updated', event(1))).toBe('not_ready');
    store.replace(stateFromSnapshot(snapshot), 5, 'e', 'snapshot');
    expect(store.receive('chapter.updated', event(5))).toBe('duplicate');
    expect(store.receive('chapter.updated', event(7))).toBe('gap');
    expect(store.receive('chapter.updated', event(6))).toBe('applied');
    expect(store.seq).toBe(6);
  });
});
