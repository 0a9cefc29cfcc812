import { randomUUID } from 'node:crypto';
import { io } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationPayload } from '../../realtime/events.ts';
import { documentKeys } from '../../realtime/keys.ts';
import { autosave, share, upload } from '../support/documents.ts';
import { createTestRedis } from '../support/redis.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, type ClientSocket, type RecordingClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

const MAX_MEMBERS = 5;
const NOTIFICATION_LIMIT = 3;

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as ErrorBody;
  expect(body.error).toMatchObject({ code, message: expect.any(String) });
  return body;
}

/**
 * A round trip on the socket: every event the server wrote to it before
 * answering has arrived once this resolves (one connection keeps order).
 */
const roundTrip = (client: RecordingClient) => client.socket.timeout(10_000).emitWithAck('unsubscribe', { document_id: randomUUID() });

describe('sharing: leaving, removal, the member cap', () => {
  let h: TestHerald;
  let gateway2: TestHerald;
  const clients: RecordingClient[] = [];
  const connect = async (target: TestHerald, user: string) => {
    const client = await connectClient(target.url, await h.token(user));
    clients.push(client);
    return client;
  };
  const removeMember = (as: string, documentId: string, userId: string) =>
    h.api(as, `/api/documents/${documentId}/members/${encodeURIComponent(userId)}`, { method: 'DELETE' });

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api', 'gateway'], env: { MAX_MEMBERS_PER_DOCUMENT: String(MAX_MEMBERS) } });
    gateway2 = await startTestHerald({ roles: ['gateway'], db: h.db, prefix: h.prefix });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await gateway2?.close();
    await h?.close();
  });

  it('a GET reads the live state beside the access and writes nothing: a stranger leaves no key, and a history is started by a subscription, not a GET', async () => {
    const redis = createTestRedis();
    try {
      const { documentId } = await upload(h, 'ana', manuscript(1));
      const state = documentKeys(h.prefix, documentId).state;
      await waitFor('the upload\'s events', async () => (await redis.exists(state)) === 1);
      const before = await (await h.api('ana', `/api/documents/${documentId}`)).json();
      // As when the history's time to live has passed: the document has no live state.
      await redis.del(state, documentKeys(h.prefix, documentId).events);

      await expectError(await h.api('cy', `/api/documents/${documentId}`), 404, 'not_found');
      const nowhere = randomUUID();
      await expectError(await h.api('cy', `/api/documents/${nowhere}`), 404, 'not_found');
      expect(await redis.exists(state, documentKeys(h.prefix, nowhere).state)).toBe(0);

      const owner = await h.api('ana', `/api/documents/${documentId}`);
      expect(owner.status).toBe(200);
      expect(await owner.json()).toEqual(before);
      expect(await redis.exists(state)).toBe(0);

      const client = await connect(h, 'ana');
      const subscribed = await client.subscribe({ document_id: documentId });
      expect(subscribed).toMatchObject({ ok: true, seq: 0, epoch: expect.any(String) });
      expect(await redis.hget(state, 'epoch')).toBe(subscribed.ok ? subscribed.epoch : undefined);
    } finally {
      redis.disconnect();
    }
  });

  it('the owner removes a member: 204, and from then on the member gets 404 like a stranger', async () => {
    const { documentId } = await upload(h, 'ana', manuscript(1));
    await share(h, 'ana', documentId, 'bo', 'editor');
    expect((await h.api('bo', `/api/documents/${documentId}`)).status).toBe(200);

    const removed = await removeMember('ana', documentId, 'bo');
    expect(removed.status).toBe(204);
    await expectError(await h.api('bo', `/api/documents/${documentId}`), 404, 'not_found');
    const list = (await (await h.api('bo', '/api/documents')).json()) as { documents: { id: string }[] };
    expect(list.documents.map((d) => d.id)).not.toContain(documentId);
    const bo = await connect(h, 'bo');
    expect(await bo.subscribe({ document_id: documentId })).toEqual({ ok: false, error: { code: 'not_found', message: expect.any(String) } });
    // Removed already: nothing left to remove.
    await expectError(await removeMember('ana', documentId, 'bo'), 404, 'not_found');
  });

  it('a member leaves by removing themself', async () => {
    const { documentId } = await upload(h, 'ana', manuscript(1));
    await share(h, 'ana', documentId, 'cleo', 'viewer');
    expect((await removeMember('cleo', documentId, 'cleo')).status).toBe(204);
    await expectError(await h.api('cleo', `/api/documents/${documentId}`), 404, 'not_found');
    expect((await h.api('ana', `/api/documents/${documentId}`)).status).toBe(200);
  });

  it('refuses everyone else: a stranger 404 (as for a missing document), a member removing another 403, the owner leaving 409', async () => {
    const { documentId } = await upload(h, 'ana', manuscript(1));
    await share(h, 'ana', documentId, 'dee', 'editor');
    await share(h, 'ana', documentId, 'eli', 'viewer');

    const hidden = await expectError(await removeMember('zed', documentId, 'dee'), 404, 'not_found');
    const missing = await expectError(await removeMember('zed', randomUUID(), 'dee'), 404, 'not_found');
    expect(hidden).toEqual(missing);
    await expectError(await removeMember('zed', documentId, 'zed'), 404, 'not_found');
    await expectError(await removeMember('dee', documentId, 'eli'), 403, 'forbidden');
    await expectError(await removeMember('dee', documentId, 'ana'), 403, 'forbidden');
    await expectError(await removeMember('ana', documentId, 'never-a-member'), 404, 'not_found');
    await expectError(await removeMember('ana', documentId, 'ana'), 409, 'owner_cannot_leave');

    // None of that changed anything.
    const members = await h.db.sql<{ user_id: string }[]>`select user_id from document_members where document_id = ${documentId} order by user_id`;
    expect(members.map((m) => m.user_id)).toEqual(['dee', 'eli']);
  });

  it("stops the document's events on the removed member's sockets at once, on every gateway, while the owner's still get them", async () => {
    const { documentId, chapters } = await upload(h, 'ana', manuscript(1));
    await share(h, 'ana', documentId, 'fay', 'viewer');
    const owner = await connect(h, 'ana');
    const member = await connect(gateway2, 'fay');
    expect((await owner.subscribe({ document_id: documentId })).ok).toBe(true);
    expect((await member.subscribe({ document_id: documentId })).ok).toBe(true);
    const saved = (version: number) => (client: RecordingClient) =>
      client.of(documentId).find((e) => e.name === 'chapter.updated' && (e.event as { version?: number }).version === version);

    const first = await autosave(h, 'ana', chapters[0]!.id, { base_version: 1, content: 'Mara left the harbour.', op_id: randomUUID() });
    expect(first.status).toBe(200);
    await waitFor("the owner's first save on the member's socket", () => saved(2)(member));

    expect((await removeMember('ana', documentId, 'fay')).status).toBe(204);
    const second = await autosave(h, 'ana', chapters[0]!.id, { base_version: 2, content: 'Mara came back.', op_id: randomUUID() });
    expect(second.status).toBe(200);
    await waitFor("the owner's second save on the owner's socket", () => saved(3)(owner));
    await roundTrip(member);
    expect(saved(3)(member)).toBeUndefined();
    expect(member.socket.connected).toBe(true);
  });

  it(`caps members at MAX_MEMBERS_PER_DOCUMENT (${MAX_MEMBERS}), also under concurrent adds; a role change still passes at the cap`, async () => {
    const { documentId } = await upload(h, 'ana', manuscript(1));
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h.api('ana', `/api/documents/${documentId}/members`, { method: 'POST', json: { user_id: `reader-${i}`, role: 'viewer' } }),
      ),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(MAX_MEMBERS);
    expect(statuses.filter((s) => s === 409)).toHaveLength(20 - MAX_MEMBERS);
    const refused = (await answers[statuses.indexOf(409)]!.json()) as ErrorBody;
    expect(refused.error).toMatchObject({ code: 'member_limit_reached', details: { limit: MAX_MEMBERS } });
    for (const r of answers) if (r.bodyUsed === false) await r.body?.cancel();
    const members = await h.db.sql<{ user_id: string }[]>`select user_id from document_members where document_id = ${documentId}`;
    expect(members).toHaveLength(MAX_MEMBERS);

    const anyMember = members[0]!.user_id;
    const changed = await h.api('ana', `/api/documents/${documentId}/members`, { method: 'POST', json: { user_id: anyMember, role: 'editor' } });
    expect(changed.status).toBe(201);
    expect((await removeMember('ana', documentId, anyMember)).status).toBe(204);
    await share(h, 'ana', documentId, 'latecomer', 'viewer');
  });

  it('lists member removal and the per-document mute in the OpenAPI reference', async () => {
    const doc = (await (await fetch(`${h.url}/docs`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/api/documents/{id}/members/{user_id}'] ?? {})).toEqual(['delete']);
    expect(Object.keys(doc.paths['/api/documents/{id}/notifications'] ?? {}).sort()).toEqual(['get', 'put']);
  });
});

interface Inbox {
  socket: ClientSocket;
  received: NotificationPayload[];
}

async function connectInbox(url: string, token: string): Promise<Inbox> {
  const socket: ClientSocket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  const received: NotificationPayload[] = [];
  socket.on('notification', (n) => received.push(n));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, received };
}

describe('notifications about a shared document: mute, rate limit, bounded titles', () => {
  let h: TestHerald;
  const inboxes: Inbox[] = [];
  const inbox = async (user: string) => {
    const s = await connectInbox(h.url, await h.token(user));
    inboxes.push(s);
    return s;
  };
  const stored = async (user: string, documentId: string) => {
    const { notifications } = (await (await h.api(user, '/api/notifications?limit=200')).json()) as { notifications: NotificationPayload[] };
    return notifications.filter((n) => n.document_id === documentId);
  };
  const mute = async (user: string, documentId: string, muted: boolean) => {
    const res = await h.api(user, `/api/documents/${documentId}/notifications`, { method: 'PUT', json: { muted } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ muted });
  };
  const refreshAndWait = async (documentId: string) => {
    const res = await h.api('ada', `/api/documents/${documentId}/refresh`, { method: 'POST' });
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as { job_id: string };
    await waitFor('the refresh to complete', async () => {
      const { refreshes } = (await (await h.api('ada', `/api/documents/${documentId}/refreshes`)).json()) as { refreshes: { job_id: string; status: string }[] };
      return refreshes.find((r) => r.job_id === job_id)?.status === 'completed';
    }, 30_000);
  };

  beforeAll(async () => {
    h = await startTestHerald({ env: { NOTIFICATION_LIMIT: String(NOTIFICATION_LIMIT), NOTIFICATION_WINDOW_SECONDS: '3600', REFRESH_LIMIT: '100' } });
  });
  afterAll(async () => {
    for (const s of inboxes) s.socket.disconnect();
    await h?.close();
  });

  it('a muted member gets nothing about the document; past the limit the rest are dropped; titles stay one short line', async () => {
    // The owner chooses the title; every member reads it. 500 characters, a line break and a right-to-left override.
    const title = `Urgent\nAction required \u202Egnp.exe ${'x'.repeat(470)}`.slice(0, 500);
    const { documentId } = await upload(h, 'ada', manuscript(2), { title });
    await waitFor('the owner\'s document.ingested', async () => (await stored('ada', documentId)).length === 1, 30_000);
    await share(h, 'ada', documentId, 'ben', 'viewer');
    await share(h, 'ada', documentId, 'cy', 'viewer');
    const [ben, cy] = [await inbox('ben'), await inbox('cy')];

    await expectError(await h.api('stranger', `/api/documents/${documentId}/notifications`, { method: 'PUT', json: { muted: true } }), 404, 'not_found');
    await expectError(await h.api('cy', `/api/documents/${documentId}/notifications`, { method: 'PUT', json: { muted: 'yes' } }), 400, 'invalid_request');
    await mute('cy', documentId, true);
    expect(await (await h.api('cy', `/api/documents/${documentId}/notifications`)).json()).toEqual({ muted: true });

    for (let i = 0; i < NOTIFICATION_LIMIT + 1; i++) {
      // A member who joins just before the last refresh: their notification is stored by the same statement as everyone's.
      if (i === NOTIFICATION_LIMIT) await share(h, 'ada', documentId, 'dot', 'viewer');
      await refreshAndWait(documentId);
    }
    await waitFor("the last refresh's notification for the newest member", async () => (await stored('dot', documentId)).length === 1, 15_000);

    const bens = await stored('ben', documentId);
    expect(bens.map((n) => n.kind)).toEqual(Array(NOTIFICATION_LIMIT).fill('refresh.done'));
    // The owner's first was document.ingested: the limit counts every kind about the document.
    expect((await stored('ada', documentId)).length).toBe(NOTIFICATION_LIMIT);
    await waitFor("ben's pushes", () => ben.received.length === NOTIFICATION_LIMIT);
    expect(await stored('cy', documentId)).toEqual([]);

    for (const n of bens) {
      expect(n.title.length).toBeLessThanOrEqual(200);
      expect(n.title).not.toMatch(/[\n\u202E]/);
      expect(n.title).toMatch(/^“Urgent Action required gnp\.exe x+…” is refreshed$/);
    }

    // Unmuted, cy hears about the document again (cy is far from the limit).
    await mute('cy', documentId, false);
    await refreshAndWait(documentId);
    await waitFor("cy's notification after unmuting", async () => (await stored('cy', documentId)).length === 1, 15_000);
    await waitFor("cy's push after unmuting", () => cy.received.some((n) => n.document_id === documentId));
    expect(cy.received.filter((n) => n.document_id === documentId)).toHaveLength(1);
  });
});
