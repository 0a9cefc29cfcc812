/**
 * The API's error answers that come before any store: validation, JSON
 * parsing, auth, routing and body limits, through `app.request()`. Every
 * case also proves nothing was written: the app's stores throw if touched.
 * test/integration/errors.test.ts keeps the cases that need PostgreSQL or
 * Redis, and proves the real server answers these edges the same way.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectError, fieldsOf } from '../support/error-envelope.ts';
import { createUnitApp, type UnitApp } from '../support/http-app.ts';
import { manuscript } from '../support/manuscript.ts';

/** A well-formed UUID no document has. */
const MISSING_ID = '00000000-0000-4000-8000-000000000000';

describe('document routes: errors answered before any store, in the contract’s shape', () => {
  let app: UnitApp;
  beforeAll(() => {
    app = createUnitApp();
  });
  afterEach(() => app.untouched());

  const post = (json: unknown) => app.as('owner', '/api/documents', { method: 'POST', json });
  const postRaw = (body: BodyInit, contentType?: string) =>
    app.as('owner', '/api/documents', { method: 'POST', body, ...(contentType && { headers: { 'content-type': contentType } }) });
  const postForm = (form: FormData) => app.as('owner', '/api/documents', { method: 'POST', body: form });

  describe('400 invalid_request, with details naming each bad field', () => {
    it.each([
      ['an empty title', { title: '', content: 'Some text.' }, ['title']],
      ['a whitespace-only title', { title: '   ', content: 'Some text.' }, ['title']],
      ['a wrong kind', { title: 'T', kind: 'poem', content: 'Some text.' }, ['kind']],
      ['no content', { title: 'T' }, ['content']],
      ['content that is not a string', { title: 'T', content: 42 }, ['content']],
      ['whitespace-only content', { title: 'T', content: ' \n\t\n   \n' }, ['content']],
      ['empty content', { title: 'T', content: '' }, ['content']],
      ['no title', { content: 'Some text.' }, ['title']],
      ['every field bad at once', { title: '', kind: 'poem' }, ['content', 'kind', 'title']],
    ])('%s', async (_, json, fields) => {
      const body = await expectError(await post(json), 400, 'invalid_request');
      expect(fieldsOf(body)).toEqual(fields);
      for (const d of body.error.details!) expect(d).toEqual({ field: expect.any(String), message: expect.any(String) });
    });

    it('a body that is neither JSON nor multipart', async () => {
      const body = await expectError(await postRaw('# Chapter 1\n\nText.', 'text/plain'), 400, 'invalid_request');
      expect(fieldsOf(body)).toEqual(['content-type']);
    });

    it('a body with no content type at all', async () => {
      const body = await expectError(await postRaw(new Uint8Array(Buffer.from('{"title":"T","content":"x"}'))), 400, 'invalid_request');
      expect(fieldsOf(body)).toEqual(['content-type']);
    });

    it('a multipart upload without a file', async () => {
      const form = new FormData();
      form.set('title', 'No file here');
      form.set('kind', 'book');
      expect(fieldsOf(await expectError(await postForm(form), 400, 'invalid_request'))).toEqual(['file']);
    });

    it('a multipart file field that is text, not a file', async () => {
      const form = new FormData();
      form.set('file', '# Chapter 1\n\nText.');
      expect(fieldsOf(await expectError(await postForm(form), 400, 'invalid_request'))).toEqual(['file']);
    });

    it('a multipart upload with a wrong kind', async () => {
      const form = new FormData();
      form.set('file', new Blob(['# Chapter 1\n\nText.'], { type: 'text/markdown' }), 'novel.md');
      form.set('kind', 'poem');
      expect(fieldsOf(await expectError(await postForm(form), 400, 'invalid_request'))).toEqual(['kind']);
    });

    it('a multipart file that is empty', async () => {
      const form = new FormData();
      form.set('file', new Blob(['  \n\n '], { type: 'text/plain' }), 'blank.txt');
      expect(fieldsOf(await expectError(await postForm(form), 400, 'invalid_request'))).toEqual(['content']);
    });

    it('a member body with a bad user_id and role', async () => {
      const response = await app.as('owner', `/api/documents/${MISSING_ID}/members`, { method: 'POST', json: { user_id: '', role: 'admin' } });
      expect(fieldsOf(await expectError(response, 400, 'invalid_request'))).toEqual(['role', 'user_id']);
    });

    it('a member user_id longer than 128 characters', async () => {
      const response = await app.as('owner', `/api/documents/${MISSING_ID}/members`, { method: 'POST', json: { user_id: 'u'.repeat(129), role: 'viewer' } });
      expect(fieldsOf(await expectError(response, 400, 'invalid_request'))).toEqual(['user_id']);
    });
  });

  describe('400 invalid_json', () => {
    it.each([
      ['a truncated object', '{"title": "T", "content": '],
      ['a trailing comma', '{"title": "T", "content": "x",}'],
      ['single quotes', "{'title': 'T'}"],
      ['an empty body', ''],
    ])('upload: %s', async (_, raw) => {
      const body = await expectError(await postRaw(raw, 'application/json'), 400, 'invalid_json');
      expect(body.error.details).toBeUndefined();
    });

    it('members: a malformed body', async () => {
      const response = await app.as('owner', `/api/documents/${MISSING_ID}/members`, {
        method: 'POST',
        body: '{"user_id": ',
        headers: { 'content-type': 'application/json' },
      });
      await expectError(response, 400, 'invalid_json');
    });
  });

  describe('401 unauthenticated', () => {
    it.each([
      ['GET', '/api/documents'],
      ['POST', '/api/documents'],
      ['GET', `/api/documents/${MISSING_ID}`],
      ['DELETE', `/api/documents/${MISSING_ID}`],
      ['POST', `/api/documents/${MISSING_ID}/members`],
      ['GET', '/api/no-such-route'],
    ])('%s %s without a token', async (method, path) => {
      const response = await app.request(path, {
        method,
        ...(method === 'POST' && { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'T', content: 'x' }) }),
      });
      await expectError(response, 401, 'unauthenticated');
    });
  });

  describe('404 not_found for a route or an id that cannot exist', () => {
    it.each([
      ['GET', '/no-such-route'],
      ['GET', '/api/no-such-route'],
      ['PUT', '/api/documents'],
      ['GET', '/api/documents/not-a-uuid'],
      ['DELETE', '/api/documents/not-a-uuid'],
      ['POST', '/api/documents/not-a-uuid/members'],
      ['GET', '/api/jobs/not-a-uuid'],
      ['PATCH', '/api/chapters/not-a-uuid'],
    ])('%s %s', async (method, path) => {
      const response = await app.as('owner', path, { method, ...(method === 'POST' && { json: { user_id: 'someone', role: 'viewer' } }) });
      const body = await expectError(response, 404, 'not_found');
      if (!path.includes('not-a-uuid')) expect(body.error.message).toContain(`${method} ${path}`);
    });
  });

  describe('hostile input is a 4xx in the contract’s shape, never a 500', () => {
    const deep = (depth: number): unknown => (depth === 0 ? 'x' : { a: deep(depth - 1) });
    const refused: [string, string, string][] = [
      ['a huge title', JSON.stringify({ title: 'T'.repeat(100_000), content: 'Text.' }), 'invalid_request'],
      ['deeply nested JSON', JSON.stringify({ title: deep(2000), content: deep(2000) }), 'invalid_request'],
      ['unicode everywhere but the right values', JSON.stringify({ 'títle': '📚', kind: 'bóok', cóntent: 'ü' }), 'invalid_request'],
      ['an array instead of an object', JSON.stringify([{ title: 'T', content: 'Text.' }]), 'invalid_request'],
      ['null', 'null', 'invalid_request'],
      ['a bare string', JSON.stringify('# Chapter 1\n\nText.'), 'invalid_request'],
      ['a number', '42', 'invalid_request'],
      ['true', 'true', 'invalid_request'],
      ['an object whose fields hide under __proto__', '{"__proto__": {"title": "T", "content": "Text."}}', 'invalid_request'],
      ['kind as an array', JSON.stringify({ title: 'T', kind: ['book'], content: 'Text.' }), 'invalid_request'],
      ['content as an object', JSON.stringify({ title: 'T', content: { text: 'Text.' } }), 'invalid_request'],
      ['title as null', JSON.stringify({ title: null, content: 'Text.' }), 'invalid_request'],
      ['invalid UTF-8 bytes', '{"title": "\xff\xfe", "content": ', 'invalid_json'],
    ];

    it.each(refused)('%s', async (_, raw, code) => {
      await expectError(await postRaw(raw, 'application/json'), 400, code);
    });
  });
});

describe('413 payload_too_large past MAX_UPLOAD_BYTES, before any store', () => {
  let app: UnitApp;
  beforeAll(() => {
    app = createUnitApp({ env: { MAX_UPLOAD_BYTES: '2048' } });
  });
  afterEach(() => app.untouched());

  it('refuses a JSON body over the limit', async () => {
    const response = await app.as('writer', '/api/documents', { method: 'POST', json: { title: 'Big', content: manuscript(5, 200) } });
    const body = await expectError(response, 413, 'payload_too_large');
    expect(body.error.message).toContain('MAX_UPLOAD_BYTES (2048 bytes)');
  });

  it('refuses a multipart upload over the limit', async () => {
    const form = new FormData();
    form.set('file', new Blob([manuscript(5, 200)], { type: 'text/markdown' }), 'big.md');
    await expectError(await app.as('writer', '/api/documents', { method: 'POST', body: form }), 413, 'payload_too_large');
  });

  it('refuses a streamed body without Content-Length over the limit, saying the connection closes', async () => {
    const chunk = new TextEncoder().encode(JSON.stringify({ title: 'Streamed', content: manuscript(5, 200) }));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < chunk.length; i += 512) controller.enqueue(chunk.subarray(i, i + 512));
        controller.close();
      },
    });
    const response = await app.as('writer', '/api/documents', {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
    } as RequestInit);
    expect(response.headers.get('connection')).toBe('close');
    await expectError(response, 413, 'payload_too_large');
  });
});
