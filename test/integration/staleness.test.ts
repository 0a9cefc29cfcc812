import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countDirty } from '../../sql/queries/artifacts.ts';
import type { DocumentEvent } from '../../realtime/events.ts';
import { autosave, upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, waitForDocumentDone, type RecordingClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

describe('staleness: dirty chapters per artifact, thresholds, low-priority refresh', () => {
  let h: TestHerald;

  beforeAll(async () => {
    h = await startTestHerald({ env: { OUTLINE_STALE_THRESHOLD: '5', CHARACTER_STALE_THRESHOLD: '3', SUMMARY_DEBOUNCE_MS: '50' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Position of the n-th (1-based) chapter.updated in the client's event list. */
  const nthSave = (client: RecordingClient, documentId: string, n: number) =>
    client.of(documentId).map((e, i) => (e.name === 'chapter.updated' ? i : -1)).filter((i) => i >= 0)[n - 1]!;
  const staleEvents = (client: RecordingClient, documentId: string) =>
    client
      .of(documentId)
      .map((e, i) => ({ i, name: e.name, event: e.event as DocumentEvent<'artifact.stale'> }))
      .filter((e) => e.name === 'artifact.stale');

  it('marks the outline stale at the 5th dirty chapter and a character at the 3rd, refreshes both, and resets the counts', async () => {
    const { documentId, chapters } = await upload(h, 'sam', manuscript(7));
    const client = await connectClient(h.url, await h.token('sam'));
    expect((await client.subscribe({ document_id: documentId })).ok).toBe(true);
    await waitForDocumentDone(client, documentId);

    const texts = [
      'Ilse walked to the pier at dawn. The gulls watched while Ilse waited.',
      'Rain again. Nobody but Ilse came to the market, and Ilse bought bread.',
      'Later the ferry left without Ilse, so Ilse walked home.',
      'The harbour froze that week and the boats stayed in.',
      'Spring came late to the village by the sea.',
    ];
    // The same chapter saved twice is one dirty chapter, not two.
    expect((await autosave(h, 'sam', chapters[0]!.id, { base_version: 1, content: texts[0]!, op_id: randomUUID() })).status).toBe(200);
    expect((await autosave(h, 'sam', chapters[0]!.id, { base_version: 2, content: `${texts[0]} Still.`, op_id: randomUUID() })).status).toBe(200);
    for (let i = 1; i < texts.length; i++) {
      expect((await autosave(h, 'sam', chapters[i]!.id, { base_version: 1, content: texts[i]!, op_id: randomUUID() })).status).toBe(200);
    }
    // Six saves: events are relayed in commit order, so each stale event sits right after the save that caused it.
    await waitFor('the outline to go stale', () => staleEvents(client, documentId).some((e) => e.event.artifact === 'outline'));
    const stale = staleEvents(client, documentId);
    const character = stale.find((e) => e.event.artifact === 'character')!;
    const outline = stale.find((e) => e.event.artifact === 'outline')!;
    expect(character.event).toMatchObject({ artifact: 'character', name: 'Ilse', dirty_count: 3 });
    expect(character.i).toBeGreaterThan(nthSave(client, documentId, 4)); // the 3rd chapter mentioning Ilse (4th save)
    expect(character.i).toBeLessThan(nthSave(client, documentId, 5));
    expect(outline.event).toMatchObject({ artifact: 'outline', dirty_count: 5 });
    expect(outline.i).toBeGreaterThan(nthSave(client, documentId, 6)); // the 5th distinct chapter (6th save)
    expect(stale).toHaveLength(2);

    await waitFor('both refreshes', () => {
      const refreshed = client.of(documentId).filter((e) => e.name === 'artifact.refreshed').map((e) => e.event as DocumentEvent<'artifact.refreshed'>);
      return refreshed.some((r) => r.artifact === 'outline') && refreshed.some((r) => r.artifact === 'character' && r.name === 'Ilse');
    }, 30_000);
    const dirty = await countDirty(h.db.sql, documentId);
    expect(dirty.get('outline') ?? 0).toBe(0);
    expect(dirty.get('character:Ilse') ?? 0).toBe(0);

    // The rebuilt artifacts are stored with the chapter versions they came from.
    const artifacts = await h.db.sql<{ kind: string; name: string; source_versions: Record<string, number>; refresh_pending: boolean }[]>`
      select kind, name, source_versions, refresh_pending from artifacts where document_id = ${documentId} order by kind`;
    expect(artifacts.map((a) => [a.kind, a.name, a.refresh_pending])).toEqual([['character', 'Ilse', false], ['outline', '', false]]);
    expect(artifacts.find((a) => a.kind === 'outline')!.source_versions[chapters[0]!.id]).toBe(3);

    // After the reset, one more dirty chapter is one, not six.
    expect((await autosave(h, 'sam', chapters[5]!.id, { base_version: 1, content: 'At noon Ilse left, and Ilse did not look back.', op_id: randomUUID() })).status).toBe(200);
    await waitFor('the 7th save to be relayed', () => client.of(documentId).filter((e) => e.name === 'chapter.updated').length === 7);
    expect(staleEvents(client, documentId)).toHaveLength(2);
    const after = await countDirty(h.db.sql, documentId);
    expect(after.get('outline')).toBe(1);
    expect(after.get('character:Ilse')).toBe(1);
    client.close();
  });
});
