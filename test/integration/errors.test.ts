import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, fieldsOf } from '../support/error-envelope.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { createUnitApp } from '../support/http-app.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Error answers that need PostgreSQL or Redis, and proof that the real server
 * answers the HTTP edges as `app.request()` does. The edges themselves
 * (validation, JSON, auth, routing, body limits) are test/unit/http-errors.test.ts.
 */

/** A well-formed UUID no document has. */
const MISSING_ID = '00000000-0000-4000-8000-000000000000';

async function countDocuments(h: TestHerald): Promise<number> {
  const [row] = await h.db.sql<{ n: number }[]>`select count(*)::int as n from documents`;
  return row!.n;
}

/** Runs `act` and asserts it left the documents, chapters and members tables as they were. */
async function expectNothingWritten(h: TestHerald, act: () => Promise<void>) {
  const counts = () => h.db.sql<{ documents: number; chapters: number; members: number }[]>`
    select (select count(*)::int from documents) as documents,
           (select count(*)::int from chapters) as chapters,
           (select count(*)::int from document_members) as members`;
  const [before] = await counts();
  await act();
  const [after] = await counts();
  expect(after).toEqual(before);
}

describe('document routes: error answers that reach the stores, in the contract’s shape, writing nothing', () => {
  let h: TestHerald;
  let documentId: string;

  beforeAll(async () => {
    // One server for this file's store-backed cases and its body limit (the over-limit bodies are ~7 KB, the rest under 2 KB).
    h = await startTestHerald({ roles: ['api'], env: { MAX_UPLOAD_BYTES: '4096' } });
    const upload = await h.api('owner', '/api/documents', { method: 'POST', json: { title: 'Owned', content: manuscript(2) } });
    expect(upload.status).toBe(202);
    documentId = ((await upload.json()) as { document: { id: string } }).document.id;
    const share = await h.api('owner', `/api/documents/${documentId}/members`, { method: 'POST', json: { user_id: 'viewer', role: 'viewer' } });
    expect(share.status).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
  });

  const post = (json: unknown) => h.api('owner', '/api/documents', { method: 'POST', json });

  describe('the real server answers the HTTP edges exactly as app.request() does', () => {
    const unit = createUnitApp({ env: { MAX_UPLOAD_BYTES: '4096' } });
    const json = (value: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
    const cases: [string, string, string, RequestInit, boolean][] = [
      ['400 invalid_request', 'POST', '/api/documents', json({ title: '', kind: 'poem' }), true],
      ['400 invalid_request (content type)', 'POST', '/api/documents', { headers: { 'content-type': 'text/plain' }, body: 'Text.' }, true],
      ['400 invalid_json', 'POST', '/api/documents', { headers: { 'content-type': 'application/json' }, body: '{"title": ' }, true],
      ['401 unauthenticated', 'GET', '/api/documents', {}, false],
      ['404 not_found (no route)', 'GET', '/no-such-route', {}, true],
      ['404 not_found (method)', 'PUT', '/api/documents', {}, true],
      ['404 not_found (not a uuid)', 'GET', '/api/documents/not-a-uuid', {}, true],
      ['413 payload_too_large', 'POST', '/api/documents', json({ title: 'Big', content: manuscript(5, 200) }), true],
    ];

    it.each(cases)('%s', async (_, method, path, init, signedIn) => {
      const user = 'edge-user';
      const real = signedIn ? await h.api(user, path, { method, ...init }) : await fetch(`${h.url}${path}`, { method, ...init });
      const fake = signedIn ? await unit.as(user, path, { method, ...init }) : await unit.request(path, { method, ...init });
      const realBody = await expectError(real.clone(), fake.status, (await fake.clone().json() as { error: { code: string } }).error.code);
      expect(realBody).toEqual(await fake.json());
      expect(real.headers.get('content-type')).toBe(fake.headers.get('content-type'));
      unit.untouched();
    });
  });

  describe('404 not_found for an id no document has', () => {
    it.each([
      ['GET', `/api/documents/${MISSING_ID}`],
      ['DELETE', `/api/documents/${MISSING_ID}`],
      ['POST', `/api/documents/${MISSING_ID}/members`],
    ])('%s %s', async (method, path) => {
      await expectNothingWritten(h, async () => {
        const response = await h.api('owner', path, { method, ...(method === 'POST' && { json: { user_id: 'someone', role: 'viewer' } }) });
        await expectError(response, 404, 'not_found');
      });
    });
  });

  describe('403 forbidden, and 400 for what only the stored document can tell', () => {
    it('a viewer deleting the document', async () => {
      await expectNothingWritten(h, async () => {
        await expectError(await h.api('viewer', `/api/documents/${documentId}`, { method: 'DELETE' }), 403, 'forbidden');
      });
    });

    it('a viewer sharing the document', async () => {
      await expectNothingWritten(h, async () => {
        const response = await h.api('viewer', `/api/documents/${documentId}/members`, { method: 'POST', json: { user_id: 'x', role: 'editor' } });
        await expectError(response, 403, 'forbidden');
      });
    });

    it('the owner adding themselves as a member', async () => {
      await expectNothingWritten(h, async () => {
        const response = await h.api('owner', `/api/documents/${documentId}/members`, { method: 'POST', json: { user_id: 'owner', role: 'editor' } });
        expect(fieldsOf(await expectError(response, 400, 'invalid_request'))).toEqual(['user_id']);
      });
    });
  });

  describe('success paths next to the failures', () => {
    it('a multipart upload with a file is accepted (202) and stored', async () => {
      const before = await countDocuments(h);
      const form = new FormData();
      form.set('file', new Blob([manuscript(3)], { type: 'text/markdown' }), 'harbour-lights.md');
      form.set('kind', 'book');
      const response = await h.api('owner', '/api/documents', { method: 'POST', body: form });
      expect(response.status).toBe(202);
      const body = (await response.json()) as { document: { id: string; title: string; kind: string }; chapters: { status: string }[]; job_id: string };
      // Without a title the file's name stands in.
      expect(body.document).toMatchObject({ title: 'harbour-lights', kind: 'book' });
      expect(body.chapters).toHaveLength(3);
      expect(body.chapters.every((c) => c.status === 'queued')).toBe(true);
      expect(await countDocuments(h)).toBe(before + 1);
      expect(await h.db.sql`select 1 from chapters where document_id = ${body.document.id}`).toHaveLength(3);
    });

    it('a multipart upload’s title field wins over the file name', async () => {
      const form = new FormData();
      form.set('file', new Blob(['INT. KITCHEN - NIGHT\n\nShe waits.\n\nEXT. STREET - DAY\n\nHe runs.'], { type: 'text/plain' }), 'draft.txt');
      form.set('title', 'The Waiting');
      form.set('kind', 'screenplay');
      const response = await h.api('owner', '/api/documents', { method: 'POST', body: form });
      expect(response.status).toBe(202);
      const body = (await response.json()) as { document: { title: string; kind: string }; chapters: unknown[] };
      expect(body.document).toMatchObject({ title: 'The Waiting', kind: 'screenplay' });
      expect(body.chapters).toHaveLength(2);
    });

    it('unicode titles and content are stored as sent', async () => {
      const title = 'Ночь — 夜 — ليلة 🌙 e\u0301';
      const content = '# Глава 1\n\nСнег шёл всю ночь. 雪が降った。 🌨️\n\n# الفصل 2\n\nكان الثلج يتساقط.';
      const response = await post({ title, content });
      expect(response.status).toBe(202);
      const body = (await response.json()) as { document: { id: string; title: string }; chapters: { title: string }[] };
      expect(body.document.title).toBe(title);
      expect(body.chapters.map((c) => c.title)).toEqual(['Глава 1', 'الفصل 2']);
      const [row] = await h.db.sql<{ title: string }[]>`select title from documents where id = ${body.document.id}`;
      expect(row!.title).toBe(title);
    });
  });

  describe('text PostgreSQL cannot store is refused or stored, never a 500', () => {
    it.each([
      ['a NUL character in the content', { title: 'Nul', content: '# Chapter 1\n\nBefore\u0000after.' }],
      ['a NUL character in the title', { title: 'Nul\u0000title', content: '# Chapter 1\n\nText.' }],
      ['a lone surrogate in the title', { title: '\ud800', content: '# Chapter 1\n\nText.' }],
    ])('%s is refused or stored, never a 500', async (_, json) => {
      const before = await countDocuments(h);
      const response = await post(json);
      if (response.status === 202) {
        expect(await countDocuments(h)).toBe(before + 1);
        return;
      }
      const body = await expectError(response, 400, 'invalid_request');
      expect(body.error.details!.length).toBeGreaterThan(0);
      expect(await countDocuments(h)).toBe(before);
    });

  });

  describe('413 payload_too_large past MAX_UPLOAD_BYTES, and the connection after it', () => {
    it('accepts a body under the limit', async () => {
      const response = await h.api('writer', '/api/documents', { method: 'POST', json: { title: 'Small', content: '# One\n\nShort.' } });
      expect(response.status).toBe(202);
    });

    /** A JSON upload over the limit, sent in chunks without Content-Length (Transfer-Encoding: chunked). */
    const streamedUpload = () => {
      const bytes = new TextEncoder().encode(JSON.stringify({ title: 'Streamed', content: manuscript(200, 200) }));
      return new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.subarray(i, i + 4096));
          controller.close();
        },
      });
    };

    it('keeps a pooled fetch (undici, keep-alive) working after a streamed body over the limit', async () => {
      for (let round = 0; round < 3; round++) {
        const refused = await h.api('writer', '/api/documents', {
          method: 'POST',
          body: streamedUpload(),
          headers: { 'content-type': 'application/json' },
          duplex: 'half',
        } as RequestInit);
        await expectError(refused, 413, 'payload_too_large');
        expect(refused.headers.get('connection')).toBe('close');
        // The next request goes through the same pool; a socket the server dropped would fail it ("other side closed").
        expect((await h.api('writer', '/api/documents')).status).toBe(200);
      }
    });

    it('answers 413 to a slow client that reads nothing until it has sent the whole of its chunked body', async () => {
      // A client busy sending (a loaded machine, a slow link) reads the answer only once its body is out. Answered
      // early, the server would close while the body still came, and the reset would take the answer with it.
      const { hostname, port } = new URL(h.url);
      const socket = net.connect(Number(port), hostname);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.pause();
      let reset: Error | undefined;
      socket.on('error', (error) => (reset = error));
      socket.write(`POST /api/documents HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${await h.token('writer')}\r\n` +
        'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      // 6 KiB in pieces over about 1.2 s: past the 4 KiB limit, and slower than the adapter's own wait (500 ms).
      const piece = `{"title":"Slow","content":"${'x'.repeat(200)}`;
      for (let i = 0; i < 30; i++) {
        const chunk = i === 0 ? piece : 'y'.repeat(200);
        socket.write(`${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      socket.write('0\r\n\r\n');
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        socket.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve(text)).on('close', () => resolve(text));
        socket.resume();
        setTimeout(() => resolve(text), 5000);
      });
      socket.destroy();
      expect(reset).toBeUndefined();
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer).toContain('"code":"payload_too_large"');
    });

    it('keeps a node http Agent with keepAlive (one socket) working after a streamed body over the limit', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const { hostname, port } = new URL(h.url);
      const authorization = `Bearer ${await h.token('writer')}`;
      const send = (method: string, chunks: Buffer[] = []) =>
        new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
          const req = http.request({ agent, hostname, port, method, path: '/api/documents', headers: { authorization, 'content-type': 'application/json' } }, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
          });
          req.on('error', reject);
          for (const chunk of chunks) req.write(chunk);
          req.end();
        });
      try {
        const body = Buffer.from(JSON.stringify({ title: 'Streamed', content: manuscript(20, 200) }));
        const chunks = Array.from({ length: Math.ceil(body.length / 1024) }, (_, i) => body.subarray(i * 1024, (i + 1) * 1024));
        for (let round = 0; round < 3; round++) {
          const refused = await send('POST', chunks);
          expect(refused.status).toBe(413);
          expect(JSON.parse(refused.body)).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } });
          expect(refused.connection).toBe('close');
          expect((await send('GET')).status).toBe(200);
        }
      } finally {
        agent.destroy();
      }
    });
  });
});

describe('503 unavailable when Redis is down', () => {
  let redis: PrivateRedis;
  let h: TestHerald | undefined;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    h = await startTestHerald({ env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    // Redis comes back before Herald closes, so closing does not spend its grace period on
    // jobs it cannot hand back (shutdown during an outage has a test of its own).
    if (redis && !redis.running) await redis.restart();
    await h?.close();
    await redis?.stop();
  });

  it('answers POST /api/documents with 503 and writes no document', async () => {
    const ok = await h!.api('writer', '/api/documents', { method: 'POST', json: { title: 'Before', content: manuscript(1) } });
    expect(ok.status).toBe(202);

    await redis.stop();
    await expectNothingWritten(h!, async () => {
      // Answers within the test's timeout: the connection refuses at once instead of queueing the command.
      const response = await h!.api('writer', '/api/documents', { method: 'POST', json: { title: 'During the outage', content: manuscript(3) } });
      await expectError(response, 503, 'unavailable');
    });
    expect(await h!.db.sql`select 1 from documents where title = 'During the outage'`).toHaveLength(0);
  });

  it('keeps answering reads from PostgreSQL and names Redis on /health', async () => {
    expect(redis.running).toBe(false);
    const list = await h!.api('writer', '/api/documents');
    expect(list.status).toBe(200);
    expect(((await list.json()) as { documents: { title: string }[] }).documents.map((d) => d.title)).toEqual(['Before']);
    const health = await fetch(`${h!.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'unavailable', failing: expect.arrayContaining(['redis']) });
  });

  it('accepts uploads again once Redis is back', async () => {
    await redis.restart();
    const response = await waitFor('an upload to be accepted after Redis restarts', async () => {
      const r = await h!.api('writer', '/api/documents', { method: 'POST', json: { title: 'After', content: manuscript(1) } });
      return r.status === 202 ? r : undefined;
    });
    expect(response.status).toBe(202);
    expect(await h!.db.sql`select 1 from documents where title = 'After'`).toHaveLength(1);
  });
});
