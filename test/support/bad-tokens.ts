import { sign } from 'hono/jwt';
import { TEST_AUTH_SECRET } from './env.ts';

export const now = () => Math.floor(Date.now() / 1000);
export const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Tokens the API and the gateway must both refuse with `unauthenticated`. */
export const BAD_TOKENS: [string, () => Promise<string>][] = [
  ['a forged signature (another secret)', () => sign({ sub: 'mallory', exp: now() + 600 }, 'not-the-herald-secret-0123456789', 'HS256')],
  ['a tampered payload (sub changed after signing)', async () => {
    const [header, , signature] = (await sign({ sub: 'mallory', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256')).split('.');
    return `${header}.${base64url({ sub: 'alice', exp: now() + 600 })}.${signature}`;
  }],
  ['an expired token', () => sign({ sub: 'alice', iat: now() - 120, exp: now() - 60 }, TEST_AUTH_SECRET, 'HS256')],
  ['alg: none with an empty signature', async () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: 'alice', exp: now() + 600 })}.`],
  ['HS512 with the right secret', () => sign({ sub: 'alice', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS512')],
  ['HS384 with the right secret', () => sign({ sub: 'alice', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS384')],
  ['no sub', () => sign({ name: 'Nobody', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256')],
  ['an empty sub', () => sign({ sub: '', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256')],
  ['a numeric sub', () => sign({ sub: 42, exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256')],
  ['a sub of 129 characters', () => sign({ sub: 'u'.repeat(129), exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256')],
  ['not a JWT at all', async () => 'not-a-jwt'],
  ['no exp', () => sign({ sub: 'alice' }, TEST_AUTH_SECRET, 'HS256')],
  ['an exp that is not a number', () => sign({ sub: 'alice', exp: String(now() + 600) } as unknown as Parameters<typeof sign>[0], TEST_AUTH_SECRET, 'HS256')],
  ['an exp past any date', () => sign({ sub: 'alice', exp: 1e300 }, TEST_AUTH_SECRET, 'HS256')],
  ['a NUL in sub', () => sign({ sub: 'ali\u0000ce', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256')],
  ['a newline in sub', () => sign({ sub: 'alice\nadmin', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256')],
  ['a C1 control character (NEL) in sub', () => sign({ sub: 'alice\u0085', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256')],
  ['a DEL in sub', () => sign({ sub: 'alice\u007f', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256')],
  ['a NUL in name', () => sign({ sub: 'alice', name: 'Al\u0000ice', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256')],
  ['an escape sequence in name', () => sign({ sub: 'alice', name: 'Alice\u001b[31m', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256')],
];

