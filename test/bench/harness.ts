/**
 * The bench's own database, Redis prefixes and Herald instances. Bench-local
 * because test/support/database.ts needs vitest's `inject`. Everything made
 * here is recorded on the context and removed by `cleanup()`.
 */
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pino from 'pino';
import postgres from 'postgres';
import { signToken } from '../../server/auth.ts';
import { loadConfig, type Role } from '../../server/config.ts';
import { startHerald, type Herald, type StartOptions } from '../../server/herald.ts';
import { createSql, ensureDatabase, escapeIdentifier, redactUrl, type Sql } from '../../sql/client.ts';
import { migrate } from '../../sql/migrate.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BASE_DATABASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const AUTH_SECRET = 'herald-bench-secret-0123456789abcdef';

export interface BenchContext {
  databaseName: string;
  databaseUrl: string;
  /** A migrated pool on the bench database, for setup rows and figure 3. */
  sql: Sql;
  /** `herald-bench-<random>`; each scenario gets `<prefix>-<scenario>` so leftover jobs never leak into the next. */
  prefix: string;
  /** A fresh Redis prefix for one scenario, removed by `cleanup()` (or earlier by `removePrefix`). */
  scenarioPrefix(name: string): string;
  /** Env for Herald (in this process or a child) on the bench database and the given prefix. */
  heraldEnv(prefix: string, extra?: Record<string, string>): Record<string, string>;
  token(userId: string): Promise<string>;
  /** Runs on cleanup, last registered first. */
  onCleanup(step: () => Promise<unknown>): void;
  cleanup(): Promise<void>;
}

export async function createBenchContext(): Promise<BenchContext> {
  const suffix = randomBytes(5).toString('hex');
  const databaseName = `herald_bench_${suffix}`;
  const databaseUrl = urlOfDatabase(databaseName);
  const prefix = `herald-bench-${suffix}`;
  const prefixes = new Set<string>();
  const steps: (() => Promise<unknown>)[] = [];

  await ensureDatabase(databaseUrl).catch((error: Error) => {
    throw new Error(`cannot create ${databaseName} on PostgreSQL at ${redactUrl(BASE_DATABASE_URL)} (set BENCH_DATABASE_URL): ${error.message}`);
  });
  const sql = createSql(databaseUrl, { max: 20 });
  steps.push(() => dropDatabase(databaseName));
  steps.push(() => sql.end({ timeout: 5 }));
  await migrate(sql);

  return {
    databaseName,
    databaseUrl,
    sql,
    prefix,
    scenarioPrefix(name) {
      const p = `${prefix}-${name}`;
      prefixes.add(p);
      return p;
    },
    heraldEnv(redisPrefix, extra = {}) {
      return {
        NODE_ENV: 'production',
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        REDIS_URL,
        REDIS_PREFIX: redisPrefix,
        AUTH_SECRET,
        LOG_LEVEL: 'warn',
        // One bench user stands for many: thousands of sockets, hundreds of pollers and editors at once.
        SOCKET_MAX_PER_USER: '1000000',
        USER_REQUEST_CONCURRENCY: '10000',
        ...extra,
      };
    },
    token: (userId) => signToken(AUTH_SECRET, userId, { name: 'Bench' }),
    onCleanup: (step) => void steps.push(step),
    async cleanup() {
      const failures: string[] = [];
      for (const step of steps.splice(0).reverse()) {
        await step().catch((err: Error) => failures.push(err.message));
      }
      for (const p of prefixes) await removePrefix(p).catch((err: Error) => failures.push(`redis ${p}: ${err.message}`));
      if (failures.length > 0) throw new Error(`cleanup incomplete: ${failures.join('; ')}`);
    },
  };
}

/** A Herald in this process, on the bench database and the given prefix; closed by the context's cleanup if the caller does not. */
export async function startBenchHerald(
  ctx: BenchContext,
  options: { roles: Role[]; prefix: string; env?: Record<string, string>; writerMode?: StartOptions['writerMode'] },
): Promise<Herald> {
  const config = loadConfig(ctx.heraldEnv(options.prefix, options.env));
  const herald = await withTimeout(
    startHerald({ config, roles: options.roles, logger: pino({ level: config.logLevel }), writerMode: options.writerMode }),
    30_000,
    `Herald (${options.roles.join('+')}) to start`,
  );
  ctx.onCleanup(() => herald.close());
  return herald;
}

/** Deletes every key under `prefix:` (SCAN, never KEYS). */
export async function removePrefix(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let removed = 0;
  try {
    let cursor = '0';
    // Bounded: SCAN ends when the cursor returns to 0; the cap only guards against a misbehaving server.
    for (let i = 0; i < 1_000_000; i++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) removed += await redis.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
  return removed;
}

/**
 * An empty database of its own beside the bench's, for a Herald started in
 * its own process (which creates and migrates it): what it finds there is
 * only its own. `sql` reads it from the bench; `drop` ends both.
 */
export async function createScratchDatabase(ctx: BenchContext, name: string): Promise<{ url: string; sql: Sql; drop(): Promise<void> }> {
  const databaseName = `${ctx.databaseName}_${name}`;
  const url = urlOfDatabase(databaseName);
  const sql = createSql(url, { max: 2 });
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await sql.end({ timeout: 5 });
    await dropDatabase(databaseName);
  };
  ctx.onCleanup(drop);
  return { url, sql, drop };
}

/** The bench's PostgreSQL URL with another database name. */
function urlOfDatabase(name: string): string {
  const url = new URL(BASE_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(name: string): Promise<void> {
  const admin = postgres(BASE_DATABASE_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await admin.unsafe(`drop database if exists ${escapeIdentifier(name)} with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** Rejects with `timed out after N ms waiting for <what>` unless the work settles first. */
export async function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** POSTs a JSON body as a user and returns the parsed answer; anything but the expected status throws with the body. */
export async function postJson<T>(url: string, token: string, body: string, expected = 202, timeoutMs = 30_000): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`POST ${url} answered ${res.status} (expected ${expected}): ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/**
 * postJson through `node:http` with the body already encoded: undici's fetch holds its own event loop
 * for 15 to 20 ms while it sends a 1.4 MB body (measured: its first timer fired 14 to 21 ms after the
 * call, against 1 to 3 with node:http), so a bench that times other requests from the same process
 * would count that against the server. A browser sends an upload off its page's thread.
 */
export function postJsonBytes<T>(url: string, token: string, body: Buffer, expected = 202, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length },
      signal: AbortSignal.timeout(timeoutMs),
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== expected) reject(new Error(`POST ${url} answered ${res.statusCode} (expected ${expected}): ${text.slice(0, 300)}`));
        else resolve(JSON.parse(text) as T);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
