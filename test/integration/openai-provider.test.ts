import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UnrecoverableError } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SUMMARY_INSTRUCTION, createOpenAiProvider } from '../../jobs/ai/openai.ts';

const API_KEY = 'sk-test-Sup3rSecretKey-0123456789';

interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

type Respond = (request: SeenRequest, res: ServerResponse) => void;

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/** A fake OpenAI-compatible endpoint: records every request and answers with `respond`. */
let server: Server;
let baseUrl: string;
let seen: SeenRequest[] = [];
let respond: Respond;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: JSON.parse(text) };
      seen.push(request);
      respond(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
});

beforeEach(() => {
  seen = [];
  respond = (_request, res) => json(res, 500, { error: { message: 'no answer configured' } });
});

const provider = (options: { timeoutMs?: number } = {}) =>
  createOpenAiProvider({
    baseUrl: `${baseUrl}/`, // the trailing slash is dropped, not doubled
    apiKey: API_KEY,
    model: 'chat-model-x',
    embedModel: 'embed-model-y',
    ...options,
  });

/** The settled rejection of `promise`, so a test can inspect it several ways. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected the call to fail').toBeInstanceOf(Error);
  expect((error as Error).message).not.toContain(API_KEY);
  return error as Error;
}

describe('openai provider: requests and answers', () => {
  it('summarize posts the chat request with the key, model and chapter, and trims the answer', async () => {
    respond = (_request, res) =>
      json(res, 200, { choices: [{ message: { role: 'assistant', content: '  A keeper vanishes.\n' } }] });
    await expect(provider().summarize('The keeper vanished in the storm.')).resolves.toBe('A keeper vanishes.');
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/chat/completions' });
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.body).toEqual({
      model: 'chat-model-x',
      messages: [
        { role: 'system', content: SUMMARY_INSTRUCTION },
        { role: 'user', content: 'The keeper vanished in the storm.' },
      ],
      temperature: 0,
    });
    expect(SUMMARY_INSTRUCTION).toMatch(/chapter/i);
  });

  it('embed posts to /embeddings with the embed model and L2-normalises the vector', async () => {
    respond = (_request, res) => json(res, 200, { object: 'list', data: [{ index: 0, embedding: [3, 0, 4] }] });
    await expect(provider().embed('Some chapter text')).resolves.toEqual([0.6, 0, 0.8]);
    expect(seen).toMatchObject([
      { method: 'POST', path: '/v1/embeddings', body: { model: 'embed-model-y', input: 'Some chapter text' } },
    ]);
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('summarize of empty text answers "" without a request; embed of empty text still asks', async () => {
    await expect(provider().summarize('  \n ')).resolves.toBe('');
    expect(seen).toHaveLength(0);
    respond = (_request, res) => json(res, 200, { data: [{ embedding: [0, 2] }] });
    await expect(provider().embed('')).resolves.toEqual([0, 1]);
    expect(seen).toMatchObject([{ path: '/v1/embeddings', body: { input: '' } }]);
  });
});

describe('openai provider: errors', () => {
  it('a 500 is a retryable Error naming the status and endpoint', async () => {
    respond = (_request, res) => json(res, 500, { error: { message: 'upstream overloaded' } });
    const error = await failure(provider().summarize('text'));
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect(error.message).toContain('HTTP 500');
    expect(error.message).toContain('/chat/completions');
    expect(error.message).toContain('upstream overloaded');
  });

  it('a 429 is retryable', async () => {
    respond = (_request, res) => json(res, 429, { error: { message: 'rate limited' } });
    const error = await failure(provider().embed('text'));
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect(error.message).toContain('HTTP 429');
    expect(error.message).toContain('/embeddings');
  });

  it('a 401 is an UnrecoverableError that never shows the key, even when the body echoes it', async () => {
    respond = (request, res) =>
      json(res, 401, { error: { message: `Incorrect API key provided: ${String(request.headers.authorization)}` } });
    const error = await failure(provider().summarize('text'));
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(error.message).toContain('HTTP 401');
  });

  it('a 400 is an UnrecoverableError carrying the endpoint\'s explanation, with the key redacted', async () => {
    respond = (_request, res) => json(res, 400, { error: { message: `input too long for key ${API_KEY}` } });
    const error = await failure(provider().embed('text'));
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(error.message).toContain('input too long');
    expect(error.message).toContain('[redacted]');
  });

  it('malformed JSON is an UnrecoverableError', async () => {
    respond = (_request, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices": [');
    const error = await failure(provider().summarize('text'));
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(error.message).toMatch(/malformed JSON/);
  });

  it('well-formed JSON of the wrong shape is an UnrecoverableError', async () => {
    respond = (_request, res) => json(res, 200, { choices: [] });
    expect(await failure(provider().summarize('text'))).toBeInstanceOf(UnrecoverableError);
    respond = (_request, res) => json(res, 200, { data: [{ embedding: ['x'] }] });
    expect(await failure(provider().embed('text'))).toBeInstanceOf(UnrecoverableError);
  });

  it('a timeout is a retryable Error', async () => {
    respond = () => {}; // never answers
    const error = await failure(provider({ timeoutMs: 100 }).summarize('text'));
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect(error.message).toContain('timed out after 100 ms');
  });

  it('the caller aborting rejects with the abort reason, not a retryable wrapper', async () => {
    respond = () => {};
    const controller = new AbortController();
    const call = provider().embed('text', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a network error is a retryable Error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = createOpenAiProvider({
      baseUrl: `http://127.0.0.1:${port}/v1`,
      apiKey: API_KEY,
      model: 'm',
      embedModel: 'e',
    });
    const error = await failure(unreachable.embed('text'));
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect(error.message).toContain('/embeddings');
  });
});
