import { describe, expect, it } from 'vitest';
import { DocumentStore, type DocumentState } from '../../realtime/client/index.ts';
import type { DocumentEvent } from '../../realtime/events.ts';

const empty: DocumentState = {
  id: 'd',
  title: 'Harbour',
  status: 'completed',
  progress: { completed: 1, failed: 0, total: 1, status: 'completed' },
  chapters: [],
  package: { stage: null, content: null },
};
const packageEvent = (seq: number, pkg: Record<string, unknown> & { stage: 'essential' | 'full' }): DocumentEvent<'package.essential'> => ({
  document_id: 'd',
  seq,
  at: '2026-12-01T10:00:00.000Z',
  package: pkg,
});

/** A store whose package reads are answered by the test, one promise per read. */
function storeWithLoader() {
  const reads: ((pkg: Record<string, unknown> | undefined) => void)[] = [];
  const store = new DocumentStore('d', {
    release: () => {},
    loadPackage: () => new Promise((resolve) => reads.push(resolve)),
  });
  store.replace(empty, 0, 'e1', 'snapshot');
  return { store, reads };
}

describe('DocumentStore with an abridged package', () => {
  it('reads the whole package and replaces the abridged content with it', async () => {
    const { store, reads } = storeWithLoader();
    const changes: DocumentState[] = [];
    store.on('change', (s) => changes.push(s));
    store.receive('package.essential', packageEvent(1, { stage: 'essential', abridged: true, chapter_count: 2 }));
    expect(store.state!.package.content).toEqual({ stage: 'essential', abridged: true, chapter_count: 2 });
    expect(reads).toHaveLength(1);
    const whole = { stage: 'essential', chapter_count: 2, chapters: [{ id: 'c1' }, { id: 'c2' }] };
    reads[0]!(whole);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(store.state!.package).toEqual({ stage: 'essential', content: whole });
    expect(store.seq).toBe(1);
    expect(changes.at(-1)!.package.content).toBe(whole);
  });

  it('reads nothing for a whole package, and keeps a newer package that arrived during the read', async () => {
    const { store, reads } = storeWithLoader();
    store.receive('package.essential', packageEvent(1, { stage: 'essential', chapter_count: 2, chapters: [] }));
    expect(reads).toHaveLength(0);
    store.receive('package.essential', packageEvent(2, { stage: 'essential', abridged: true }));
    const full = { stage: 'full' as const, chapter_count: 2, chapters: [], outline: { summary: 'x' } };
    store.receive('package.full', packageEvent(3, full) as unknown as DocumentEvent<'package.full'>);
    reads[0]!({ stage: 'essential', chapters: [] });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(store.state!.package).toEqual({ stage: 'full', content: full });
  });
});
