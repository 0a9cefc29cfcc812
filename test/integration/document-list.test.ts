import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HeraldClient } from '../../realtime/client/index.ts';
import type { DocumentsChangedPayload } from '../../realtime/events.ts';
import { share, upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, type RecordingClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

describe('documents.changed: the live manuscript list', () => {
  let h: TestHerald;
  let second: TestHerald;
  const closers: (() => void)[] = [];
  /** A socket of `user` on `target` and the list changes it receives, in order. */
  const listen = async (user: string, target: TestHerald) => {
    const client: RecordingClient = await connectClient(target.url, await h.token(user));
    const changes: DocumentsChangedPayload[] = [];
    client.socket.on('documents.changed', (payload) => changes.push(payload));
    closers.push(() => client.close());
    return { client, changes };
  };
  const removeMember = (as: string, documentId: string, userId: string) =>
    h.api(as, `/api/documents/${documentId}/members/${userId}`, { method: 'DELETE' });

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api', 'gateway'] });
    second = await startTestHerald({ roles: ['gateway'], db: h.db, prefix: h.prefix });
  });
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });
  afterAll(async () => {
    await second?.close();
    await h?.close();
  });

  it('tells every socket of each user, on any gateway, when a document is created, shared, unshared or deleted', async () => {
    // ana on two devices (two gateways), bo a member-to-be, eve a stranger.
    const [anaTab, anaPhone, bo, eve] = await Promise.all([listen('ana', h), listen('ana', second), listen('bo', second), listen('eve', h)]);
    const sdk = HeraldClient.connect({ url: h.url, token: await h.token('ana') });
    closers.push(() => sdk.close());
    const sdkChanges: DocumentsChangedPayload[] = [];
    sdk.on('documents.changed', (p) => sdkChanges.push(p));
    await waitFor('the SDK to connect', () => sdk.status === 'connected');

    const { documentId } = await upload(h, 'ana', manuscript(1));
    const created = { document_id: documentId, change: 'created' };
    await waitFor('both of ana’s sockets told of the upload', () => anaTab.changes.length === 1 && anaPhone.changes.length === 1);
    expect(anaTab.changes).toEqual([created]);
    expect(anaPhone.changes).toEqual([created]);
    await waitFor('the SDK told too', () => sdkChanges.length === 1);
    expect(sdkChanges).toEqual([created]);

    const boSees = async (change: DocumentsChangedPayload['change'], count: number) => {
      await waitFor(`bo told "${change}"`, () => bo.changes.length === count);
      expect(bo.changes.at(-1)).toEqual({ document_id: documentId, change });
    };
    await share(h, 'ana', documentId, 'bo', 'viewer');
    await boSees('shared', 1);
    expect((await removeMember('ana', documentId, 'bo')).status).toBe(204);
    await boSees('removed', 2);
    await share(h, 'ana', documentId, 'bo', 'editor');
    await boSees('shared', 3);
    // A member who leaves is told too (their other tabs update).
    expect((await removeMember('bo', documentId, 'bo')).status).toBe(204);
    await boSees('removed', 4);

    await share(h, 'ana', documentId, 'bo', 'viewer');
    await boSees('shared', 5);
    expect((await h.api('ana', `/api/documents/${documentId}`, { method: 'DELETE' })).status).toBe(204);
    await boSees('removed', 6);
    const removed = { document_id: documentId, change: 'removed' };
    await waitFor('both of ana’s sockets told of the delete', () => anaTab.changes.length === 2 && anaPhone.changes.length === 2);
    expect(anaTab.changes).toEqual([created, removed]);
    expect(anaPhone.changes).toEqual([created, removed]);

    // A round trip on eve's socket: anything sent to it before has arrived. She could see none of it.
    await eve.client.socket.timeout(10_000).emitWithAck('unsubscribe', { document_id: randomUUID() });
    expect(eve.changes).toEqual([]);
  });

  it('tells nobody of a request that failed', async () => {
    const { documentId } = await upload(h, 'ana', manuscript(1));
    const bo = await listen('bo', h);
    expect((await h.api('bo', `/api/documents/${documentId}`, { method: 'DELETE' })).status).toBe(404);
    expect((await removeMember('ana', documentId, 'bo')).status).toBe(404);
    const res = await h.api('bo', `/api/documents/${documentId}/members`, { method: 'POST', json: { user_id: 'bo', role: 'editor' } });
    expect(res.status).toBe(404);
    // Then one that succeeds: announced after anything the failed ones could have sent, so once it is here, so would they be.
    await share(h, 'ana', documentId, 'bo', 'viewer');
    await waitFor('bo told of the share', () => bo.changes.length > 0);
    expect(bo.changes).toEqual([{ document_id: documentId, change: 'shared' }]);
  });
});
