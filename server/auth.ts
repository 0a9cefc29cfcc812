import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { sign, verify } from 'hono/jwt';
import type { Sql } from '../sql/client.ts';
import { upsertUser } from '../sql/queries/users.ts';
import { AppError } from './errors.ts';

export interface AuthUser {
  id: string;
  name: string | null;
  /** The token's `exp` (seconds since the epoch); the gateway disconnects a socket when it passes. */
  expiresAt: number;
}

/** Resolves a bearer token to its user; throws AppError `unauthenticated` (401) otherwise. */
export type Authenticate = (token: string) => Promise<AuthUser>;

const SEEN_CACHE_MAX = 10_000;
/** Tokens whose signature was checked, kept per authenticator (a token is a few hundred bytes). */
const VERIFIED_CACHE_MAX = 10_000;

/** C0 and C1 control characters (NUL, newlines, escapes): never part of a user id or a display name. */
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** The latest `exp` a JavaScript Date can hold (seconds): a later one is not a time. */
const MAX_EXP_SECONDS = 8.64e12;

/**
 * HS256 only: `alg: none` and every other algorithm are refused, `exp` is
 * required and honoured, `sub` (1–128 chars) is the user id; claims holding
 * control characters are refused. A user is stored the first time their
 * token is seen.
 */
export function createAuthenticator(secret: string, sql: Sql): Authenticate {
  const seen = new Map<string, string | null>();
  const verified = createVerifiedTokens(secret);
  return async (token) => {
    let payload: Record<string, unknown>;
    try {
      payload = await verified.verify(token);
    } catch (error) {
      const expired = (error as Error).name === 'JwtTokenExpired';
      throw new AppError('unauthenticated', expired ? 'The token has expired; get a new one.' : 'The token is not valid.');
    }
    const { sub, name, exp } = payload;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 128) {
      throw new AppError('unauthenticated', 'The token needs a "sub" (the user id) of 1 to 128 characters.');
    }
    // A token that never expires cannot be taken back short of changing AUTH_SECRET for everyone.
    if (typeof exp !== 'number' || exp > MAX_EXP_SECONDS) {
      throw new AppError('unauthenticated', 'The token needs an "exp" (expiry, seconds since 1970); `npm run token -- <user>` prints one that has it.');
    }
    if (CONTROL_CHARACTER.test(sub) || (typeof name === 'string' && CONTROL_CHARACTER.test(name))) {
      throw new AppError('unauthenticated', 'The token\'s "sub" and "name" must not contain control characters.');
    }
    const user: AuthUser = { id: sub, name: typeof name === 'string' ? name.slice(0, 200) : null, expiresAt: exp };
    if (!seen.has(user.id) || seen.get(user.id) !== user.name) {
      await upsertUser(sql, user.id, user.name);
      if (seen.size >= SEEN_CACHE_MAX) seen.delete(seen.keys().next().value!);
      seen.set(user.id, user.name);
    }
    return user;
  };
}

/**
 * Verifies HS256 tokens, remembering the ones that passed. A client sends
 * the same token with every request, and checking its signature again
 * (WebCrypto: a key import and an HMAC on the thread pool, a hop to another
 * thread per request) was 3 % of the API process's CPU while a big upload
 * ingested; a hop that, on a busy machine, waits for a core. A remembered
 * token is the same string, signed with the same secret, so only its
 * expiry can change: once `exp` has passed it goes through the full check
 * again (which refuses it as expired). Only tokens that passed are kept, so
 * made-up tokens cannot fill the memory.
 */
function createVerifiedTokens(secret: string) {
  const passed = new Map<string, Record<string, unknown>>();
  return {
    async verify(token: string): Promise<Record<string, unknown>> {
      const known = passed.get(token);
      if (known && typeof known.exp === 'number' && known.exp > Date.now() / 1000) return known;
      passed.delete(token);
      const payload = (await verify(token, secret, 'HS256')) as Record<string, unknown>;
      // Insertion order is age: past the bound, the oldest entry goes.
      if (passed.size >= VERIFIED_CACHE_MAX) passed.delete(passed.keys().next().value!);
      passed.set(token, payload);
      return payload;
    },
  };
}

/** Signs a token for a user; `expiresInSeconds` defaults to 30 days. */
export async function signToken(secret: string, userId: string, options: { name?: string; expiresInSeconds?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    { sub: userId, ...(options.name && { name: options.name }), iat: now, exp: now + (options.expiresInSeconds ?? 30 * 24 * 3600) },
    secret,
    'HS256',
  );
}

const DEV_SECRET_FILE = '.herald/dev-secret';

/**
 * AUTH_SECRET when set; in development, a random key kept in
 * `.herald/dev-secret`, so `npm start` and `npm run token` agree.
 */
export async function resolveAuthSecret(configured: string | undefined): Promise<{ secret: string; generated: boolean }> {
  if (configured) return { secret: configured, generated: false };
  try {
    const stored = (await readFile(DEV_SECRET_FILE, 'utf8')).trim();
    if (stored.length >= 16) return { secret: stored, generated: true };
  } catch {
    // none yet
  }
  const secret = randomBytes(32).toString('hex');
  await mkdir('.herald', { recursive: true });
  await writeFile(DEV_SECRET_FILE, `${secret}\n`, { mode: 0o600 });
  return { secret, generated: true };
}
