/**
 * REST auth refusals through `app.request()` with the real token checks:
 * every refusal happens before the user is stored, so the app's stores (which
 * throw if touched) prove a refused token writes nothing. The socket side,
 * and accepted tokens (a user is stored on first sight), are
 * test/integration/auth.test.ts.
 */
import { sign } from 'hono/jwt';
import { afterEach, describe, expect, it } from 'vitest';
import { BAD_TOKENS, now } from '../support/bad-tokens.ts';
import { TEST_AUTH_SECRET } from '../support/env.ts';
import { expectError } from '../support/error-envelope.ts';
import { createUnitApp } from '../support/http-app.ts';

describe('REST auth: tokens refused with 401 unauthenticated, before any store', () => {
  const app = createUnitApp();
  afterEach(() => app.untouched());
  const getWithToken = (token: string) => app.request('/api/documents', { headers: { authorization: `Bearer ${token}` } });

  it('refuses a request without a token, naming how to get one', async () => {
    const body = await expectError(await app.request('/api/documents'), 401, 'unauthenticated');
    expect(body.error.message).toContain('npm run token');
  });

  it('refuses an Authorization header that is not "Bearer <token>"', async () => {
    const token = await sign({ sub: 'alice', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256');
    for (const authorization of [`Basic ${token}`, 'Bearer', 'Bearer ', `Bearer ${token} extra`, token]) {
      await expectError(await app.request('/api/documents', { headers: { authorization } }), 401, 'unauthenticated');
    }
  });

  it.each(BAD_TOKENS)('refuses %s', async (_, makeToken) => {
    await expectError(await getWithToken(await makeToken()), 401, 'unauthenticated');
  });

  it('says an expired token has expired', async () => {
    const token = await sign({ sub: 'alice', exp: now() - 60 }, TEST_AUTH_SECRET, 'HS256');
    expect((await expectError(await getWithToken(token), 401, 'unauthenticated')).error.message).toMatch(/expired/i);
  });

  it('says a token without exp needs one', async () => {
    const token = await sign({ sub: 'forever', name: 'Forever' }, TEST_AUTH_SECRET, 'HS256');
    expect((await expectError(await getWithToken(token), 401, 'unauthenticated')).error.message).toMatch(/"exp"/);
  });

  it('says claims must not hold control characters', async () => {
    const token = await sign({ sub: 'nul\u0000user', exp: now() + 600 }, TEST_AUTH_SECRET, 'HS256');
    expect((await expectError(await getWithToken(token), 401, 'unauthenticated')).error.message).toMatch(/control characters/);
  });
});
