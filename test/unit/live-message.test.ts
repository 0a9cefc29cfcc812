import { describe, expect, it } from 'vitest';
import { parseLiveMessage } from '../../realtime/document-feed.ts';

describe("a document's live channel messages", () => {
  it('reads a seq’d event from publish-event.lua as an event of its epoch', () => {
    const data = { seq: 7, document_id: 'd', at: '2026-01-01T00:00:00.000Z', completed: 1, failed: 0, total: 2, status: 'processing' };
    expect(parseLiveMessage(`e-1\ndocument.progress\n${JSON.stringify(data)}`)).toEqual({
      kind: 'event',
      event: { epoch: 'e-1', name: 'document.progress', seq: 7, data },
    });
  });

  it('tells a presence list from update-presence.lua apart: no epoch, no seq', () => {
    const presence = { document_id: 'd', users: [{ user_id: 'ana', name: 'Ana', chapter_id: null }] };
    expect(parseLiveMessage(`\npresence\n${JSON.stringify(presence)}`)).toEqual({ kind: 'presence', presence });
  });
});
