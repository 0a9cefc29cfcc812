import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { signToken } from '../../server/auth.ts';
import { runTsx, spawnNode, startTsx, type RunningProcess } from '../support/child-process.ts';
import { TEST_AUTH_SECRET, TEST_DATABASE_URL, TEST_REDIS_URL, databaseUrl } from '../support/env.ts';
import { freePort } from '../support/private-redis.ts';
import { removePrefix, testPrefix } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

/** `npm start` as a child process: `tsx server/main.ts`, with a complete, valid environment unless a test overrides part of it. */
const MAIN = 'server/main.ts';

/** Databases this file made (or a start it ran could have made); dropped after. */
const databases = new Set<string>();

function freshDatabase(): { name: string; url: string } {
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  databases.add(name);
  return { name, url: databaseUrl(name) };
}

function baseEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    PORT: '0',
    DATABASE_URL: freshDatabase().url,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: testPrefix(),
    AUTH_SECRET: TEST_AUTH_SECRET,
    LOG_LEVEL: 'silent',
    ...overrides,
  };
}

/** The lines a process wrote to stderr, without blank ones. */
const linesOf = (text: string) => text.split('\n').filter((line) => line.trim() !== '');

/** A failed start: exit code 1 and no stack trace anywhere in what it printed. */
function expectCleanFailure(run: { code: number | null; stdout: string; stderr: string }) {
  expect(run.code, run.stderr).toBe(1);
  expect(run.stderr).not.toContain('    at ');
  expect(run.stdout).not.toContain('    at ');
}

async function databaseExists(name: string): Promise<boolean> {
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    return (await admin`select 1 from pg_database where datname = ${name}`).length === 1;
  } finally {
    await admin.end();
  }
}

afterAll(async () => {
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    for (const name of databases) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
});

describe('npm start refuses to start, in one clear line, without a stack trace', () => {
  it('exits 1 naming the Redis URL and what to do when Redis is not there', async () => {
    const redisUrl = `redis://127.0.0.1:${await freePort()}`;
    const run = await runTsx(MAIN, [], baseEnv({ REDIS_URL: redisUrl }));
    expectCleanFailure(run);
    const lines = linesOf(run.stderr);
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toContain(redisUrl);
    expect(lines[0]).toContain('Start Redis, or set REDIS_URL to one that is running.');
  });

  it('exits 1 naming the cluster seeds and what to do when the Redis Cluster is not there', async () => {
    const nodes = `127.0.0.1:${await freePort()},127.0.0.1:${await freePort()}`;
    const run = await runTsx(MAIN, [], baseEnv({ REDIS_CLUSTER_NODES: nodes }));
    expectCleanFailure(run);
    const lines = linesOf(run.stderr);
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toContain(`Redis Cluster is not reachable at ${nodes}`);
    expect(lines[0]).toContain('Start the cluster, or set REDIS_CLUSTER_NODES to seeds of one that is running');
  });

  it('exits 1 naming REDIS_CLUSTER_NODES when a seed is not host:port', async () => {
    const run = await runTsx(MAIN, [], baseEnv({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,redis://127.0.0.1:7001' }));
    expectCleanFailure(run);
    expect(run.stderr).toContain('REDIS_CLUSTER_NODES');
    expect(run.stderr).toContain('host:port');
  });

  it('exits 1 naming the PostgreSQL URL and what to do when PostgreSQL is not there', async () => {
    const url = new URL(TEST_DATABASE_URL);
    url.port = String(await freePort());
    url.pathname = '/herald_nowhere';
    const run = await runTsx(MAIN, [], baseEnv({ DATABASE_URL: url.toString() }));
    expectCleanFailure(run);
    const lines = linesOf(run.stderr);
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toContain(`127.0.0.1:${url.port}`);
    expect(lines[0]).toContain('herald_nowhere');
    expect(lines[0]).toContain('Start PostgreSQL, or set DATABASE_URL to one that is running.');
  });

  it('exits 1 naming DATABASE_DIRECT_URL and what to do when the direct connection is not there', async () => {
    const direct = new URL(TEST_DATABASE_URL);
    direct.port = String(await freePort());
    direct.pathname = '/herald_direct_nowhere';
    const run = await runTsx(MAIN, [], baseEnv({ DATABASE_DIRECT_URL: direct.toString() }));
    expectCleanFailure(run);
    const lines = linesOf(run.stderr);
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toContain(`127.0.0.1:${direct.port}`);
    expect(lines[0]).toContain('DATABASE_DIRECT_URL');
    expect(lines[0]).toContain('Start PostgreSQL, or set DATABASE_DIRECT_URL to a direct connection that is running');
  });

  it('exits 1 naming every bad variable', async () => {
    const env = baseEnv({ PORT: 'abc', WORKER_CONCURRENCY: '0', REDIS_PREFIX: 'has spaces', DATABASE_URL: 'not a url' });
    const run = await runTsx(MAIN, [], env);
    expectCleanFailure(run);
    for (const variable of ['PORT', 'WORKER_CONCURRENCY', 'REDIS_PREFIX', 'DATABASE_URL']) {
      expect(run.stderr, `stderr should name ${variable}`).toMatch(new RegExp(`\\b${variable}\\b`));
    }
    // Variables with good values are not blamed.
    for (const variable of ['REDIS_URL', 'AUTH_SECRET', 'LOG_LEVEL']) expect(run.stderr).not.toContain(variable);
  });

  it('stops at a bad variable before connecting to anything', async () => {
    const env = baseEnv({ WORKER_CONCURRENCY: '0' });
    const run = await runTsx(MAIN, [], env);
    expectCleanFailure(run);
    expect(run.stderr).toContain('WORKER_CONCURRENCY');
    expect(await databaseExists(new URL(env.DATABASE_URL!).pathname.slice(1))).toBe(false);
  });

  it('exits 1 when one variable is bad, naming only that one', async () => {
    const run = await runTsx(MAIN, [], baseEnv({ MAX_UPLOAD_BYTES: 'lots' }));
    expectCleanFailure(run);
    expect(run.stderr).toContain('MAX_UPLOAD_BYTES');
    expect(run.stderr).not.toMatch(/\bPORT\b/);
  });

  it('exits 1 with a clear line for an unknown --role', async () => {
    const env = baseEnv();
    const run = await runTsx(MAIN, ['--role=nonsense'], env);
    expectCleanFailure(run);
    const line = linesOf(run.stderr).find((l) => l.includes('nonsense'));
    expect(line, run.stderr).toBeDefined();
    expect(line).toContain('--role');
    for (const role of ['api', 'gateway', 'worker']) expect(line).toContain(role);
    // It stopped before connecting: the database was not created.
    expect(await databaseExists(new URL(env.DATABASE_URL!).pathname.slice(1))).toBe(false);
  });
});

describe('npm start runs, reports ready on /health, and stops cleanly on SIGTERM', () => {
  let herald: RunningProcess | undefined;
  const prefix = testPrefix();

  afterEach(async () => {
    await herald?.kill();
    herald = undefined;
  });
  afterAll(async () => {
    await removePrefix(prefix);
  });

  it('creates its database, answers /health 200 ok, serves the API, then exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const db = freshDatabase();
    expect(await databaseExists(db.name)).toBe(false);
    herald = startTsx(MAIN, [], baseEnv({ PORT: String(port), DATABASE_URL: db.url, REDIS_PREFIX: prefix, LOG_LEVEL: 'info' }));
    const url = `http://127.0.0.1:${port}`;

    const health = await waitFor(
      'GET /health to answer 200',
      async () => {
        if (herald!.child.exitCode !== null) throw new Error(`herald exited with ${herald!.child.exitCode}: ${herald!.stderr}`);
        const response = await fetch(`${url}/health`).catch(() => undefined);
        return response?.status === 200 ? ((await response.json()) as { status: string; checks: Record<string, string>; failing: string[] }) : undefined;
      },
      45_000,
      100,
    );
    expect(health).toMatchObject({
      status: 'ok',
      checks: { postgres: 'ok', redis: 'ok', api: 'ok', gateway: 'ok', worker: 'ok' },
      failing: [],
    });
    expect(await databaseExists(db.name)).toBe(true);

    // The logs are JSON lines, and one says it is ready at this URL.
    const logLines = linesOf(herald.stdout).map((l) => JSON.parse(l) as { msg?: string; url?: string });
    expect(logLines.some((l) => l.msg === 'Herald is ready' && l.url === url)).toBe(true);
    // And a plain line for a person, on stderr: where the editor is.
    expect(linesOf(herald.stderr)).toContain(`Editor: ${url}/`);

    // It is a working API, not only a health check.
    const authorization = `Bearer ${await signToken(TEST_AUTH_SECRET, 'startup-user')}`;
    const upload = await fetch(`${url}/api/documents`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Started', content: '# One\n\nIt runs.' }),
    });
    expect(upload.status).toBe(202);

    herald.child.kill('SIGTERM');
    const { code, signal } = await herald.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(herald.stderr).not.toContain('    at ');
    expect(herald.stderr).toContain('SIGTERM');
  });
});

describe('a promise rejected with no handler', () => {
  const prefix = testPrefix();
  let api: RunningProcess | undefined;
  afterEach(async () => {
    await api?.kill();
    api = undefined;
  });
  afterAll(async () => {
    await removePrefix(prefix);
  });

  it('is logged with its stack, and the process carries on serving', async () => {
    const port = await freePort();
    api = spawnNode(
      ['--import', 'tsx', '--import', './test/support/reject-on-signal.ts', MAIN, '--role=api'],
      baseEnv({ PORT: String(port), REDIS_PREFIX: prefix, LOG_LEVEL: 'info' }),
      { endsOn: 'exit' },
    );
    const url = `http://127.0.0.1:${port}`;
    const healthy = async () => (await fetch(`${url}/health`).catch(() => undefined))?.status === 200;
    await waitFor('GET /health to answer 200', async () => {
      if (api!.child.exitCode !== null) throw new Error(`the api exited with ${api!.child.exitCode}: ${api!.stderr}`);
      return (await healthy()) || undefined;
    }, 45_000, 100);

    api.child.kill('SIGUSR2');
    const logged = await waitFor('the rejection to be logged', async () => {
      const lines = linesOf(api!.stdout).map((l) => JSON.parse(l) as { level: number; msg?: string; err?: { message?: string; stack?: string } });
      return lines.find((l) => l.msg?.includes('rejected with no handler'));
    }, 10_000, 50);
    expect(logged.level).toBe(50);
    expect(logged.err?.message).toBe('a rejection nobody handles (test)');
    expect(logged.err?.stack).toContain('reject-on-signal.ts');
    expect(api.child.exitCode).toBeNull();
    expect(await healthy()).toBe(true);
  });
});
