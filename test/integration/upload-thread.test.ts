import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../server/errors.ts';
import { MAX_CHAPTERS } from '../../server/services/upload.ts';
import { startUploadThread, type UploadThread } from '../../server/upload-thread.ts';
import { upsertUser } from '../../sql/queries/users.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { manuscript } from '../support/manuscript.ts';
import { utf16 } from '../support/upload-files.ts';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const limits = { maxChapterBytes: 64 * 1024 };
const logger = pino({ level: 'silent' });
/** A body as the socket would hand it over: in pieces of `size` bytes (7 cuts multi-byte characters in two). */
async function* inPieces(bytes: Uint8Array, size = 7): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}
const json = (value: unknown) => inPieces(new TextEncoder().encode(JSON.stringify(value)), 4096);

/** A multipart body and its Content-Type, as a browser's FormData would send them (a field given as a list is sent once per value). */
async function multipart(fields: Record<string, string | string[] | File>): Promise<{ body: Uint8Array; contentType: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) form.append(name, v);
  const request = new Request('http://localhost/', { method: 'POST', body: form });
  return { body: new Uint8Array(await request.arrayBuffer()), contentType: request.headers.get('content-type')! };
}

/** The error a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

describe('the upload thread', () => {
  let db: TestDatabase;
  let thread: UploadThread;

  beforeAll(async () => {
    db = await createTestDatabase();
    await upsertUser(db.sql, 'writer', 'Writer');
    thread = startUploadThread({ databaseUrl: db.url, pooled: false, connections: 2, nice: 10, logger });
  });

  it('gives users turns: a small upload shares the thread with one of another user’s big ones, not waiting for the pile', async () => {
    await upsertUser(db.sql, 'piler', 'Piler');
    // A thread that has stored once (its pool connected and its types read), as a running API's is.
    await thread.storeJson(json({ title: 'Warm', content: manuscript(1) }), limits, 'writer');
    // Each of these takes the thread a while to decode, parse and split, then fails (413: a chapter past the
    // limit) without a store.
    const bigBody = new TextEncoder().encode(JSON.stringify({ title: 'Pile', content: manuscript(1, 1_200_000) }));
    const order: string[] = [];
    const piled = Array.from({ length: 6 }, (_, i) =>
      failure(thread.storeJson(inPieces(bigBody, 1 << 20), limits, 'piler')).then((error) => {
        order.push(`pile ${i + 1}`);
        return error;
      }));
    // Sent once the pile has been handed over and the thread is busy with its first.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const small = thread.storeJson(json({ title: 'Small', content: manuscript(2) }), limits, 'writer').then((stored) => {
      order.push('small');
      return stored;
    });
    const [stored, ...errors] = await Promise.all([small, ...piled]);
    expect(stored.chapters).toHaveLength(2);
    for (const error of errors) expect(error).toMatchObject({ code: 'payload_too_large' });
    // Arrival order would put it last; with turns it starts beside the pile's first (one upload under way per
    // user) and shares the thread with it slice by slice.
    expect(order.indexOf('small'), order.join(', ')).toBeLessThan(2);
  });

  it('says it is ready once its code has loaded, well before ready() would stop waiting (15 s)', async () => {
    const started = performance.now();
    await thread.ready();
    expect(performance.now() - started).toBeLessThan(10_000);
  });
  afterAll(async () => {
    await thread?.close();
    await db?.drop();
  });

  it('reads, splits and stores a JSON upload, and answers its chapters as stored', async () => {
    const content = manuscript(3);
    const stored = await thread.storeJson(json({ title: ' The Ledger ', content }), limits, 'writer');
    expect(stored.document).toMatchObject({ title: 'The Ledger', kind: 'book', owner_id: 'writer' });
    const rows = await db.sql<{ id: string; index: number; title: string; content: string }[]>`
      select id, index, title, content from chapters where document_id = ${stored.document.id} order by index`;
    expect(stored.chapters).toEqual(rows.map(({ id, index, title }) => ({ id, index, title })));
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.content).join('')).not.toBe('');
    const [doc] = await db.sql<{ job_id: string }[]>`select job_id from documents where id = ${stored.document.id}`;
    expect(doc!.job_id).toBe(stored.jobId);
  });

  it('reads a body whose pieces cut its characters in two as the whole text', async () => {
    const content = '# Été\n\nNaïve façade, 夜 🌙, «déjà vu».\n\n# Fin\n\nÉpilogue.';
    const stored = await thread.storeJson(inPieces(new TextEncoder().encode(JSON.stringify({ title: 'Accents', content }))), limits, 'writer');
    const rows = await db.sql<{ content: string }[]>`select content from chapters where document_id = ${stored.document.id} order by index`;
    expect(rows.map((r) => r.content)).toEqual(['Naïve façade, 夜 🌙, «déjà vu».', 'Épilogue.']);
  });

  it('stores nothing and answers the body\'s own error when the body breaks off', async () => {
    const before = await db.sql`select id from documents`;
    async function* brokenOff(): AsyncIterable<Uint8Array> {
      yield new TextEncoder().encode('{"title": "Cut", "content": "# One\\n\\nSome');
      throw new Error('aborted');
    }
    await expect(thread.storeJson(brokenOff(), limits, 'writer')).rejects.toThrow('aborted');
    // The thread forgot it and goes on with the next upload.
    await thread.storeJson(json({ title: 'Next', content: 'Text.' }), limits, 'writer');
    expect(await db.sql`select id from documents`).toHaveLength(before.length + 1);
  });

  it('parses a multipart form on the thread: its file decoded, its title and kind read', async () => {
    const play = 'INT. ROOM - DAY\n\nA door. Été.\n\nEXT. STREET - NIGHT\n\nRain.';
    const { body, contentType } = await multipart({ file: new File([utf16(play, 'le')], 'Night Shift.txt'), kind: 'screenplay' });
    const stored = await thread.storeForm(inPieces(body), contentType, limits, 'writer');
    expect(stored.document).toMatchObject({ title: 'Night Shift', kind: 'screenplay' });
    expect(stored.chapters.map((c) => c.title)).toEqual(['INT. ROOM - DAY', 'EXT. STREET - NIGHT']);
    const rows = await db.sql<{ content: string }[]>`select content from chapters where document_id = ${stored.document.id} order by index`;
    expect(rows[0]!.content).toBe('A door. Été.');
  });

  it.each([
    ['without a file', { title: 'No file' }, 'file'],
    ['with a file in Latin-1', { file: new File([new Uint8Array([0x43, 0x61, 0x66, 0xe9])], 'cafe.txt') }, 'file'],
    ['with its title sent twice', { file: new File(['# One\n\nText.'], 'a.md'), title: ['A', 'B'] }, 'title'],
  ])('answers a form %s with invalid_request naming the field, and stores nothing', async (_, fields, field) => {
    const before = await db.sql`select id from documents`;
    const { body, contentType } = await multipart(fields);
    const error = await failure(thread.storeForm(inPieces(body, 4096), contentType, limits, 'writer'));
    expect(error).toMatchObject({ code: 'invalid_request' });
    expect(JSON.stringify(error.details)).toContain(`"field":"${field}"`);
    expect(await db.sql`select id from documents`).toHaveLength(before.length);
  });

  it.each([
    ['a body that is not JSON', inPieces(new TextEncoder().encode('{"title": ')), 'invalid_json', undefined],
    ['a missing title', json({ content: 'text' }), 'invalid_request', 'title'],
    ['an empty manuscript', json({ title: 'Empty', content: '  \n ' }), 'invalid_request', 'content'],
    ['a body too intricate to parse cheaply', json({ title: 'Deep', content: 'x', extra: Array.from({ length: 5000 }, () => 1) }), 'invalid_request', '(body)'],
  ])('answers %s with the API error, and stores nothing', async (_, bytes, code, field) => {
    const before = await db.sql`select id from documents`;
    const error = await failure(thread.storeJson(bytes, limits, 'writer'));
    expect(error).toBeInstanceOf(AppError);
    expect(error.code).toBe(code);
    if (field) expect(JSON.stringify(error.details)).toContain(`"field":"${field}"`);
    expect(await db.sql`select id from documents`).toHaveLength(before.length);
  });

  it('answers a chapter past MAX_CHAPTER_BYTES with 413 and its details', async () => {
    const error = await failure(thread.storeJson(json({ title: 'Big', content: `# One\n\n${'word '.repeat(20)}` }), { maxChapterBytes: 50 }, 'writer'));
    expect(error).toMatchObject({ code: 'payload_too_large', status: 413, details: { chapter_index: 0, limit_bytes: 50 } });
  });

  it('answers past the quota with 429 and Retry-After', async () => {
    const quota = { maxQueuedChapters: 4, maxUploadsInFlight: 10 };
    // The writer has chapters queued (no outcome yet) from the uploads above.
    const error = await failure(thread.storeJson(json({ title: 'More', content: manuscript(5) }), { ...limits, uploadQuota: quota }, 'writer'));
    expect(error).toMatchObject({ code: 'rate_limited', status: 429 });
    expect((error as unknown as AppError).headers?.['Retry-After']).toBe('30');
  });

  it('hands back a PostgreSQL error with its SQLSTATE, so the API maps it as it would on the event loop', async () => {
    // No such user: the document's foreign key refuses it (23503, answered 404 by server/errors.ts).
    const error = await failure(thread.storeJson(json({ title: 'Nobody', content: 'Some text.' }), limits, 'no-such-user'));
    expect(error).not.toBeInstanceOf(AppError);
    expect(error.code).toBe('23503');
  });

  it(`refuses more than ${MAX_CHAPTERS.toLocaleString('en-US')} chapters`, async () => {
    const content = Array.from({ length: MAX_CHAPTERS + 1 }, (_, i) => `# ${i}\n\nx`).join('\n\n');
    const error = await failure(thread.storeJson(json({ title: 'Many', content }), limits, 'writer'));
    expect(error).toMatchObject({ code: 'invalid_request' });
  });
});

describe('an upload thread in a process started with --import flags', () => {
  it('starts without them (a TypeScript preload would fail in the thread) and stores the upload', async () => {
    const db = await createTestDatabase();
    try {
      const probe = fileURLToPath(new URL('../support/upload-thread-probe.ts', import.meta.url));
      const preload = new URL('../support/noop-preload.ts', import.meta.url).href;
      const { stdout } = await run(process.execPath, ['--import', 'tsx', '--import', preload, probe, db.url], { cwd: REPO_ROOT });
      // The foreign key refusing the unknown user: the thread ran the insert.
      expect(stdout).toBe('23503');
    } finally {
      await db.drop();
    }
  });
});

describe('an upload thread that fails', () => {
  it('answers its tasks 503, starts again, and after three failures in a row is no longer used', async () => {
    const db = await createTestDatabase();
    const thread = startUploadThread({
      databaseUrl: db.url, pooled: false, connections: 1, nice: 0, logger, entry: new URL('../support/failing-upload-thread.ts', import.meta.url),
    });
    try {
      for (let attempt = 1; attempt <= 3; attempt++) {
        expect(thread.usable()).toBe(true);
        const error = await failure(thread.storeJson(json({ title: 'T', content: 'Text.' }), limits, 'writer'));
        expect(error).toMatchObject({ code: 'unavailable', status: 503 });
      }
      expect(thread.usable()).toBe(false);
      expect(await db.sql`select id from documents`).toHaveLength(0);
    } finally {
      await thread.close();
      await db.drop();
    }
  });
});
