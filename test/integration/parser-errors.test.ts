import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHerald, type TestHerald } from '../support/herald.ts';

/** Sends raw bytes on a connection of their own and resolves with everything the server wrote before it closed. */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** Status line, headers (lower-cased names) and parsed JSON body of a raw response. */
function parse(raw: string) {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) as unknown };
}

describe('requests Node refuses before the app sees them get the contract’s error body', () => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startTestHerald({ roles: ['api'] });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a request line past 16 KiB: 431 headers_too_large, and the connection closes', async () => {
    const response = parse(await rawExchange(h.url, `GET /api/documents/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    expect(response.status).toBe(431);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers.connection).toBe('close');
    expect(response.body).toEqual({ error: { code: 'headers_too_large', message: expect.any(String) } });
  });

  it('a HEAD past 16 KiB: 431 with no body, so a pooled client reads one answer and goes on', async () => {
    const raw = await rawExchange(h.url, `HEAD /api/documents?cursor=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const [head = '', body] = raw.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(body).toBe('');
    const res = await fetch(`${h.url}/api/documents?cursor=${'a'.repeat(65_536)}`, { method: 'HEAD' });
    expect(res.status).toBe(431);
  });

  it('bytes that are not HTTP: 400 invalid_request', async () => {
    const response = parse(await rawExchange(h.url, 'HELLO THERE\r\n\r\n'));
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: { code: 'invalid_request', message: expect.any(String) } });
  });

  it('the server goes on answering afterwards', async () => {
    expect((await fetch(`${h.url}/health`)).status).toBe(200);
  });
});
