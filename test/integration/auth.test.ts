import { randomUUID } from 'node:crypto';
import { sign } from 'hono/jwt';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SubscribeAck } from '../../realtime/events.ts';
import { runTsx } from '../support/child-process.ts';
import { BAD_TOKENS, now } from '../support/bad-tokens.ts';
import { TEST_AUTH_SECRET } from '../support/env.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { connectClient, connectError, type RecordingClient } from '../support/socket.ts';

interface ErrorResponseBody {
  error: { code: string; message: string; details?: unknown };
}

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  const body = (await response.json()) as ErrorResponseBody;
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatchObject({ code, message: expect.any(String) });
  expect(Object.keys(body.error).filter((k) => !['code', 'message', 'details'].includes(k))).toEqual([]);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

function getWithToken(h: TestHerald, path: string, token: string, init: RequestInit = {}) {
  return fetch(`${h.url}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
}

describe('auth: tokens on REST and on the socket handshake', () => {
  let h: TestHerald;
  const clients: RecordingClient[] = [];

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api', 'gateway'] });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await h?.close();
  });

  // The REST side of each refusal, and its message, is test/unit/http-auth.test.ts; here the real server, and the socket.
  it('refuses a request without a token, or with a bad one: 401 unauthenticated', async () => {
    await expectError(await fetch(`${h.url}/api/documents`), 401, 'unauthenticated');
    await expectError(await getWithToken(h, '/api/documents', await BAD_TOKENS[0]![1]()), 401, 'unauthenticated');
  });

  it('refuses a socket without a token: connect_error with data.code unauthenticated', async () => {
    const err = await connectError(h.url, {});
    expect(err.data?.code).toBe('unauthenticated');
    const empty = await connectError(h.url, { token: '' });
    expect(empty.data?.code).toBe('unauthenticated');
    const notString = await connectError(h.url, { token: 12345 });
    expect(notString.data?.code).toBe('unauthenticated');
  });

  it.each(BAD_TOKENS)('refuses %s on the socket (connect_error)', async (_, makeToken) => {
    const err = await connectError(h.url, { token: await makeToken() });
    expect(err.data?.code).toBe('unauthenticated');
  });

  it('refuses a token it accepted before once the token has expired (a checked token is remembered only until its exp)', async () => {
    const token = await sign({ sub: 'alice', exp: now() + 60 }, TEST_AUTH_SECRET, 'HS256');
    expect((await getWithToken(h, '/api/documents', token)).status).toBe(200);
    expect((await getWithToken(h, '/api/documents', token)).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 120_000);
      const body = await expectError(await getWithToken(h, '/api/documents', token), 401, 'unauthenticated');
      expect(body.error.message).toMatch(/expired/i);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stores no user for a refused token', async () => {
    const users = () => h.db.sql<{ id: string }[]>`select id from users order by id`;
    const before = await users();
    for (const [, makeToken] of BAD_TOKENS) await expectError(await getWithToken(h, '/api/documents', await makeToken()), 401, 'unauthenticated');
    expect(await users()).toEqual(before);
  });

  it('accepts a name with characters outside ASCII that are not control characters', async () => {
    const token = await sign({ sub: 'zoë', name: 'Zoë Ñúñez — 作家 🌙', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256');
    expect((await getWithToken(h, '/api/documents', token)).status).toBe(200);
  });

  it('accepts a valid HS256 token on REST and on the socket, with a sub of exactly 128 characters too', async () => {
    const response = await h.api('alice', '/api/documents');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ documents: [] });
    clients.push(await connectClient(h.url, await h.token('alice')));
    expect(clients[0]!.socket.connected).toBe(true);

    const longId = 'l'.repeat(128);
    const long = await sign({ sub: longId, exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256');
    expect((await getWithToken(h, '/api/documents', long)).status).toBe(200);
  });

  it('accepts the token `npm run token -- <user>` prints', async () => {
    const run = await runTsx('server/token.ts', ['token-cli-user'], { AUTH_SECRET: TEST_AUTH_SECRET, LOG_LEVEL: 'silent' });
    expect(run.code).toBe(0);
    const token = run.stdout.trim();
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    // stdout is the token alone; the editor's signed-in address goes to stderr, for a person.
    expect(run.stderr.trim()).toMatch(new RegExp(`^Editor: http://[^/]+/\\?token=${token.replace(/[.]/g, '\\.')}$`));

    const response = await getWithToken(h, '/api/documents', token);
    expect(response.status).toBe(200);
    const client = await connectClient(h.url, token);
    clients.push(client);
    expect(client.socket.connected).toBe(true);
    const [row] = await h.db.sql<{ id: string }[]>`select id from users where id = 'token-cli-user'`;
    expect(row?.id).toBe('token-cli-user');
  });

  it('records a user the first time their token is seen, with the token’s name', async () => {
    const userId = `first-sight-${randomUUID()}`;
    expect(await h.db.sql`select 1 from users where id = ${userId}`).toHaveLength(0);
    const token = await h.token(userId, { name: 'Ada First' });
    expect((await getWithToken(h, '/api/documents', token)).status).toBe(200);
    const rows = await h.db.sql<{ id: string; name: string | null }[]>`select id, name from users where id = ${userId}`;
    expect(rows).toEqual([{ id: userId, name: 'Ada First' }]);

    // A socket handshake alone is also a first sighting.
    const socketUser = `socket-first-${randomUUID()}`;
    clients.push(await connectClient(h.url, await h.token(socketUser)));
    expect(await h.db.sql`select 1 from users where id = ${socketUser}`).toHaveLength(1);
  });
});

describe('auth: who sees which document', () => {
  let h: TestHerald;
  let documentId: string;
  const clients: RecordingClient[] = [];
  const missingId = randomUUID();

  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api', 'gateway'] });
    const upload = await h.api('owner-a', '/api/documents', { method: 'POST', json: { title: 'A’s private novel', content: manuscript(2) } });
    expect(upload.status).toBe(202);
    documentId = ((await upload.json()) as { document: { id: string } }).document.id;
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await h?.close();
  });

  const subscribeAs = async (userId: string, id: string): Promise<SubscribeAck> => {
    const client = await connectClient(h.url, await h.token(userId));
    clients.push(client);
    return client.subscribe({ document_id: id });
  };

  it('the owner sees their document on GET and on subscribe', async () => {
    expect((await h.api('owner-a', `/api/documents/${documentId}`)).status).toBe(200);
    const ack = await subscribeAs('owner-a', documentId);
    expect(ack).toMatchObject({ ok: true, snapshot: { document: { id: documentId } } });
  });

  // The same answers for someone else's document and for one that does not exist: nothing leaks.
  it.each([
    ['another user’s document', () => documentId],
    ['a document that does not exist', () => missingId],
  ])('user B gets 404 not_found for %s on GET, DELETE and POST members', async (_, id) => {
    await expectError(await h.api('user-b', `/api/documents/${id()}`), 404, 'not_found');
    await expectError(await h.api('user-b', `/api/documents/${id()}`, { method: 'DELETE' }), 404, 'not_found');
    await expectError(
      await h.api('user-b', `/api/documents/${id()}/members`, { method: 'POST', json: { user_id: 'user-b', role: 'editor' } }),
      404,
      'not_found',
    );
    // B's attempts changed nothing: the document is still there and B is no member.
    expect(await h.db.sql`select 1 from documents where id = ${documentId}`).toHaveLength(1);
    expect(await h.db.sql`select 1 from document_members where user_id = 'user-b'`).toHaveLength(0);
  });

  it.each([
    ['another user’s document', () => documentId],
    ['a document that does not exist', () => missingId],
  ])('user B’s subscribe to %s is answered {ok:false, error:{code:"not_found"}}', async (_, id) => {
    const ack = await subscribeAs('user-b', id());
    expect(ack).toEqual({ ok: false, error: { code: 'not_found', message: expect.any(String) } });
  });

  it('the same 404 body for a hidden document and a missing one', async () => {
    const hidden = (await (await h.api('user-b', `/api/documents/${documentId}`)).json()) as ErrorResponseBody;
    const missing = (await (await h.api('user-b', `/api/documents/${missingId}`)).json()) as ErrorResponseBody;
    expect(hidden).toEqual(missing);
  });

  it('user B does not see A’s document in their list', async () => {
    const list = (await (await h.api('user-b', '/api/documents')).json()) as { documents: { id: string }[] };
    expect(list.documents.map((d) => d.id)).not.toContain(documentId);
  });

  describe('once the owner shares it with B as a viewer', () => {
    beforeAll(async () => {
      const response = await h.api('owner-a', `/api/documents/${documentId}/members`, {
        method: 'POST',
        json: { user_id: 'viewer-b', role: 'viewer' },
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({
        member: { document_id: documentId, user_id: 'viewer-b', role: 'viewer', created_at: expect.any(String) },
      });
    });

    it('B can GET it, list it and subscribe to it', async () => {
      const detail = await h.api('viewer-b', `/api/documents/${documentId}`);
      expect(detail.status).toBe(200);
      expect(await detail.json()).toMatchObject({ document: { id: documentId } });
      const list = (await (await h.api('viewer-b', '/api/documents')).json()) as { documents: { id: string; role: string }[] };
      expect(list.documents).toEqual([expect.objectContaining({ id: documentId, role: 'viewer' })]);
      const ack = await subscribeAs('viewer-b', documentId);
      expect(ack).toMatchObject({ ok: true, snapshot: { document: { id: documentId } } });
    });

    it('B (viewer) cannot delete it: 403 forbidden, and it is still there', async () => {
      await expectError(await h.api('viewer-b', `/api/documents/${documentId}`, { method: 'DELETE' }), 403, 'forbidden');
      expect(await h.db.sql`select 1 from documents where id = ${documentId}`).toHaveLength(1);
    });

    it('B (viewer) cannot add members: 403 forbidden, and no member was added', async () => {
      await expectError(
        await h.api('viewer-b', `/api/documents/${documentId}/members`, { method: 'POST', json: { user_id: 'friend-of-b', role: 'editor' } }),
        403,
        'forbidden',
      );
      expect(await h.db.sql`select 1 from document_members where user_id = 'friend-of-b'`).toHaveLength(0);
    });

    it('the member added by id was recorded as a user, and a third user still gets 404', async () => {
      expect(await h.db.sql`select 1 from users where id = 'viewer-b'`).toHaveLength(1);
      await expectError(await h.api('user-c', `/api/documents/${documentId}`), 404, 'not_found');
    });
  });
});
