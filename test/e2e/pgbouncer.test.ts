import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentEvent } from '../../realtime/events.ts';
import { createSql } from '../../sql/client.ts';
import { loadMigrations, migrate } from '../../sql/migrate.ts';
import { startTsx, type RunningProcess } from '../support/child-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { autosave, upload } from '../support/documents.ts';
import { TEST_AUTH_SECRET, TEST_DATABASE_URL, TEST_REDIS_URL, databaseUrl } from '../support/env.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { startPgBouncer, type PrivatePgBouncer } from '../support/pgbouncer.ts';
import { freePort } from '../support/private-redis.ts';
import { removePrefix, testPrefix } from '../support/redis.ts';
import { connectClient, type RecordingClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Herald behind a real PgBouncer in transaction mode: DATABASE_URL goes
 * through the pooler, DATABASE_DIRECT_URL straight to PostgreSQL.
 */
let bouncer: PrivatePgBouncer;
/** Fresh databases this file made outside createTestDatabase; dropped after the pooler is gone. */
const freshDatabases = new Set<string>();
/** What must wait until the pooler has stopped: dropping a database it holds server connections to. */
const afterPooler: (() => Promise<void>)[] = [];
/** Every Herald process this file started; killed in afterAll even when a test timed out before its own cleanup. */
const started: RunningProcess[] = [];

function freshDatabase(): string {
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  freshDatabases.add(name);
  return name;
}

beforeAll(async () => {
  bouncer = await startPgBouncer();
});

afterAll(async () => {
  await Promise.all(started.map((p) => p.kill()));
  // The pooler holds server connections to every database it served: it goes first, then the databases.
  await bouncer?.stop();
  for (const cleanup of afterPooler) await cleanup();
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    for (const name of freshDatabases) await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
});

describe('the private pooler is what hosted PostgreSQL puts in front', () => {
  it('refuses the statement_timeout startup parameter that a client without DATABASE_DIRECT_URL sends', async () => {
    const sql = createSql(bouncer.urlFor(databaseUrl('postgres')), { max: 1 });
    try {
      await expect(sql`select 1`).rejects.toThrow(/unsupported startup parameter: statement_timeout/);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});

describe('Herald with DATABASE_URL through PgBouncer (transaction mode) and DATABASE_DIRECT_URL direct', () => {
  let db: TestDatabase;
  let h: TestHerald;
  let client: RecordingClient | undefined;
  const prefix = testPrefix();

  beforeAll(async () => {
    db = await createTestDatabase();
    h = await startTestHerald({
      db,
      prefix,
      env: {
        DATABASE_URL: bouncer.urlFor(db.url),
        DATABASE_DIRECT_URL: db.url,
        // Every event and job leaves through the outbox relay, and the relay wakes only on NOTIFY (its poll
        // is ten minutes away): what arrives below came through LISTEN on the direct connection.
        OUTBOX_FAST_PATH: 'off',
        OUTBOX_POLL_MS: '600000',
      },
    });
  });
  afterAll(async () => {
    client?.close();
    await h?.close();
    // Herald was given the database, so it is dropped here, once the pooler's server connections to it are gone.
    afterPooler.push(async () => {
      await db?.drop();
      await removePrefix(prefix);
    });
  });

  it('completes an upload, pushes an autosave once, and answers a package request with one package.essential', async () => {
    const { documentId, chapters } = await upload(h, 'pat', manuscript(3), { title: 'Pooled' });
    await waitFor('the upload to complete', async () => {
      const body = (await (await h.api('pat', `/api/documents/${documentId}`)).json()) as { document: { status: string } };
      return body.document.status === 'completed';
    }, 30_000);

    client = await connectClient(h.url, await h.token('pat'));
    const ack = await client.subscribe({ document_id: documentId });
    expect(ack.ok).toBe(true);

    const chapterId = chapters[0]!.id;
    const save = await autosave(h, 'pat', chapterId, { base_version: 1, content: 'Rewritten through the pooler.', op_id: randomUUID() });
    expect(save.status, JSON.stringify(save.body)).toBe(200);
    const updated = await waitFor('chapter.updated on the socket', () => client!.of(documentId).find((e) => e.name === 'chapter.updated'));
    expect(updated.event as DocumentEvent<'chapter.updated'>).toMatchObject({ chapter_id: chapterId, version: 2, by: 'pat' });

    const packaged = await h.api('pat', `/api/documents/${documentId}/package`, { method: 'POST' });
    expect(packaged.status, await packaged.clone().text()).toBe(202);
    expect(((await packaged.json()) as { package: { stage: string } }).package.stage).toBe('essential');
    await waitFor('package.essential on the socket', () => client!.of(documentId).find((e) => e.name === 'package.essential'));

    // Every outbox row is relayed and deleted; nothing waits to be sent again.
    await waitFor('the outbox to empty', async () => (await db.sql`select 1 from outbox limit 1`).length === 0);
    // A later event marks the point by which a duplicate of either would have arrived: events reach a socket in seq order.
    const second = await autosave(h, 'pat', chapterId, { base_version: 2, content: 'And once more.', op_id: randomUUID() });
    expect(second.status).toBe(200);
    await waitFor('the second chapter.updated', () => client!.of(documentId).find((e) => e.name === 'chapter.updated' && (e.event as DocumentEvent<'chapter.updated'>).version === 3));
    const names = client.of(documentId).map((e) => e.name);
    expect(names.filter((n) => n === 'chapter.updated')).toHaveLength(2);
    expect(names.filter((n) => n === 'package.essential')).toHaveLength(1);
  });
});

describe('the autosave function through the pooler and directly', () => {
  let db: TestDatabase;
  const heralds: TestHerald[] = [];
  const clients: RecordingClient[] = [];
  // One deployment on one database: each Herald's outbox relay may publish the other's rows, so both publish under one prefix.
  const prefixes = [testPrefix()];
  // Every save makes the outline and each character it names stale, so the stale-artifact rows are written too.
  const thresholds = { OUTLINE_STALE_THRESHOLD: '1', CHARACTER_STALE_THRESHOLD: '1' };

  beforeAll(async () => {
    db = await createTestDatabase();
    // Counts calls of PL/pgSQL functions in pg_stat_user_functions, for this database's new connections only.
    await db.sql.unsafe(`alter database "${db.name}" set track_functions = 'pl'`);
    heralds.push(
      await startTestHerald({ db, prefix: prefixes[0], roles: ['api', 'gateway'], env: { ...thresholds, DATABASE_URL: bouncer.urlFor(db.url), DATABASE_DIRECT_URL: db.url } }),
      await startTestHerald({ db, prefix: prefixes[0], roles: ['api', 'gateway'], env: thresholds }),
    );
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const h of heralds) await h.close();
    afterPooler.push(async () => {
      await db?.drop();
      for (const p of prefixes) await removePrefix(p);
    });
  });

  /** Every event of the document has reached the client: the outbox holds none of them, and the client has the last seq. */
  async function allEventsArrived(h: TestHerald, client: RecordingClient, documentId: string): Promise<void> {
    await waitFor('the outbox to send the document\'s rows', async () => (await db.sql`select 1 from outbox where document_id = ${documentId} limit 1`).length === 0);
    const probe = await connectClient(h.url, await h.token('pat'));
    try {
      const ack = await probe.subscribe({ document_id: documentId });
      if (!ack.ok) throw new Error(`subscribe failed: ${JSON.stringify(ack)}`);
      await waitFor(`event seq ${ack.seq} on the watching socket`, () => client.of(documentId).some((e) => e.event.seq === ack.seq));
    } finally {
      probe.close();
    }
  }

  /** What a document's saves left in PostgreSQL and sent to a watching socket, with its ids replaced by names. */
  async function outcome(client: RecordingClient, documentId: string, chapterId: string) {
    const named = (value: unknown) => JSON.parse(JSON.stringify(value).replaceAll(documentId, '<document>').replaceAll(chapterId, '<chapter>'));
    const [chapter] = await db.sql`select c.version, c.content, c.word_count, d.word_count as document_words from chapters c join documents d on d.id = c.document_id where c.id = ${chapterId}`;
    const versions = await db.sql`select version, content, word_count, saved_by, op_id from chapter_versions where chapter_id = ${chapterId} order by version`;
    const answers = await db.sql<{ op_id: string; status: number; body: { chapter?: Record<string, unknown> } }[]>`
      select op_id, status, body from autosave_ops where chapter_id = ${chapterId} order by status, op_id`;
    const dirty = await db.sql`select kind, name, version from artifact_dirty where document_id = ${documentId} order by kind, name`;
    const stale = await db.sql`select kind, name, refresh_pending from artifacts where document_id = ${documentId} order by kind, name`;
    const events = client.of(documentId).filter((e) => e.name === 'chapter.updated' || e.name === 'artifact.stale').map((e) => {
      const { seq: _seq, at: _at, ...event } = e.event as DocumentEvent & { at: string };
      return { name: e.name, event };
    });
    // Each save's time is its own; everything else must match.
    const timeless = answers.map((a) => ({ ...a, body: a.body.chapter ? { ...a.body, chapter: { ...a.body.chapter, updated_at: '<time>' } } : a.body }));
    return named({ chapter, versions, answers: timeless, dirty, stale, events });
  }

  it('saves through the pooler call apply_autosave and store what the same saves store directly', async () => {
    const text = manuscript(2);
    const results = [];
    for (const [i, h] of heralds.entries()) {
      const { documentId, chapters } = await upload(h, 'pat', text, { title: 'Twins' });
      const client = await connectClient(h.url, await h.token('pat'));
      clients.push(client);
      expect((await client.subscribe({ document_id: documentId })).ok).toBe(true);
      const chapterId = chapters[0]!.id;
      // The first save of a chapter reads its context first; the second takes the one-statement path; the third conflicts.
      const saves = [
        { base_version: 1, content: 'Mara met Tomas at the harbour. Mara smiled; Tomas did not.', op_id: `first-${i}` },
        { base_version: 2, content: 'Mara met Tomas at the harbour. Mara smiled; Tomas left with Ines.', op_id: `second-${i}` },
        { base_version: 2, content: 'A stale edit.', op_id: `stale-${i}` },
      ];
      const statuses = [];
      for (const save of saves) statuses.push((await autosave(h, 'pat', chapterId, save)).status);
      expect(statuses).toEqual([200, 200, 409]);
      await allEventsArrived(h, client, documentId);
      results.push(await outcome(client, documentId, chapterId));
    }
    const [pooled, direct] = results.map((r) => JSON.parse(JSON.stringify(r).replace(/(first|second|stale)-[01]/g, '$1'))) as [any, any];
    expect(pooled).toEqual(direct);
    expect(pooled.versions.map((v: { version: number }) => v.version)).toEqual([2, 3]);
    expect(pooled.stale.length).toBeGreaterThan(1);
    expect(pooled.events.map((e: { name: string }) => e.name)).toContain('artifact.stale');

    await waitFor('apply_autosave in pg_stat_user_functions', async () => {
      const [row] = await db.sql<{ calls: number }[]>`select coalesce(sum(calls), 0)::int as calls from pg_stat_user_functions where funcname = 'apply_autosave'`;
      return row!.calls >= 4;
    }, 20_000);
  });
});

describe('migrations behind the pooler', () => {
  it('four concurrent migrate calls through the pooler apply each migration once', async () => {
    const name = freshDatabase();
    const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`).finally(() => admin.end());
    const pools = Array.from({ length: 4 }, () => createSql(bouncer.urlFor(databaseUrl(name)), { max: 2, pooled: true }));
    try {
      const applied = await Promise.all(pools.map((sql) => migrate(sql)));
      const migrations = await loadMigrations();
      expect(applied.flat().sort()).toEqual(migrations.map((m) => m.name).sort());
      const rows = await pools[0]!<{ version: number }[]>`select version from schema_migrations order by version`;
      expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
    } finally {
      await Promise.all(pools.map((sql) => sql.end({ timeout: 5 })));
    }
  });

  it('four processes starting at once on a fresh database all come up, and each migration runs once', async () => {
    const name = freshDatabase();
    const prefix = testPrefix();
    const ports = await Promise.all([0, 1, 2, 3].map(() => freePort()));
    const processes: RunningProcess[] = ports.map((port) =>
      startTsx('server/main.ts', ['--role=api'], {
        NODE_ENV: 'test',
        PORT: String(port),
        DATABASE_URL: bouncer.urlFor(databaseUrl(name)),
        DATABASE_DIRECT_URL: databaseUrl(name),
        DATABASE_POOL_SIZE: '4',
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: prefix,
        AUTH_SECRET: TEST_AUTH_SECRET,
        LOG_LEVEL: 'info',
      // tsx runs the server in a child of its own: kill() must take the whole group, or the server outlives it.
      }, { processGroup: true }),
    );
    started.push(...processes);
    try {
      await Promise.all(processes.map((p, i) =>
        waitFor(`process ${i} to answer /health 200`, async () => {
          if (p.child.exitCode !== null) throw new Error(`process ${i} exited with ${p.child.exitCode}: ${p.stderr}`);
          return (await fetch(`http://127.0.0.1:${ports[i]}/health`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.status === 200;
        }, 270_000, 250),
      ));
      const migrations = await loadMigrations();
      const applied = processes.flatMap((p) => p.stdout.split('\n').filter((l) => l.includes('migrations applied')).flatMap((l) => (JSON.parse(l) as { applied: string[] }).applied));
      expect(applied.sort()).toEqual(migrations.map((m) => m.name).sort());
      const direct = postgres(databaseUrl(name), { max: 1, onnotice: () => {} });
      try {
        const rows = await direct<{ version: number }[]>`select version from schema_migrations order by version`;
        expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
      } finally {
        await direct.end();
      }
    } finally {
      await Promise.all(processes.map((p) => p.kill()));
      await removePrefix(prefix);
    }
    // Four `npm start`s compile and boot on the same cores at once: on a busy two-core machine, a minute or two.
  }, 300_000);
});
