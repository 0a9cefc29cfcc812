import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentEvent, SubscribeAck } from '../../realtime/events.ts';
import { boundaryCases, contractViolations, describeCase, httpCase, sendCase, type HttpCase, type HttpResult } from '../support/fuzz-http.ts';
import { operationsOf, type Operation } from '../support/fuzz-openapi.ts';
import { ACKED_EVENTS, OVERSIZE_BYTES, describeSocketCase, openSocket, runEmit, runHandshake, socketCase, type SocketCase } from '../support/fuzz-socket.ts';
import { tokenFor } from '../support/fuzz-auth.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import type { ClientSocket } from '../support/socket.ts';
import { connectClient } from '../support/socket.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Property-based fuzzing of the whole public surface: requests for every
 * route the OpenAPI document at /docs lists (plus the pages outside it), and
 * socket payloads on real socket.io-clients. Each case must get a status
 * below 500, the contract's error body, no stack trace, and a refused
 * request must leave the database as it was. Afterwards the server must
 * still be healthy, process an upload and push events.
 *
 * Seeded and reproducible: FUZZ_SEED (default a fixed seed, so `npm test`
 * gives the same cases on every machine; `FUZZ_SEED=random` explores new
 * ones; printed either way), FUZZ_RUNS (total cases, default 2,000), and, to
 * replay one failing batch, the FUZZ_PATH fast-check prints.
 */

const SEED = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 20_261_210);
const PATH = process.env.FUZZ_PATH;
const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);
/** FUZZ_SURVEY=1: log every violation and go on, to list all of them in one run (the test then fails at the end). */
const SURVEY = process.env.FUZZ_SURVEY === '1';
const surveyed: string[] = [];
/** Cases per batch: a batch runs concurrently, and is what a replay repeats. */
const BATCH = 8;
const HTTP_CASES = Math.ceil((RUNS * 0.75) / BATCH) * BATCH;
const SOCKET_CASES = Math.ceil((RUNS - HTTP_CASES) / BATCH) * BATCH;

/** Routes outside the OpenAPI document: the editor page, its files, the queue board, unknown paths. */
const EXTRA_TARGETS: Operation[] = ['/', '/client.js', '/editor.css', '/admin/queues', '/api/nope', '/api/documents/{id}/nope'].map((path) => ({
  method: 'GET',
  path,
  parameters: path.includes('{id}') ? [{ name: 'id', in: 'path' as const, schema: { type: 'string', format: 'uuid' } }] : [],
  bodies: {},
}));

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type Footprint = Record<(typeof FOOTPRINT_PARTS)[number], unknown>;
const FOOTPRINT_PARTS = ['documents', 'chapters', 'chapter_version_sum', 'chapter_versions', 'members', 'refreshes', 'preferences', 'read_notifications'] as const;

/**
 * What an accepted request of each route may change, so a batch with some
 * accepted writes still checks the rest. A route not listed (a new one) may
 * change anything: its batch checks nothing until it is listed here.
 */
const ROUTE_WRITES: Record<string, readonly (typeof FOOTPRINT_PARTS)[number][]> = {
  'POST /api/documents': ['documents', 'chapters', 'chapter_versions', 'chapter_version_sum'],
  'DELETE /api/documents/{id}': FOOTPRINT_PARTS,
  'POST /api/documents/{id}/members': ['members'],
  'PATCH /api/chapters/{id}': ['chapter_versions', 'chapter_version_sum'],
  // Its essential package row is not counted: workers write packages too (refused package requests are caught by the job check).
  'POST /api/documents/{id}/package': [],
  'POST /api/documents/{id}/refresh': ['refreshes'],
  'POST /api/jobs/{id}/retry': [],
  'DELETE /api/jobs/{id}': [],
  'POST /api/notifications/{id}/read': ['read_notifications'],
  'PUT /api/notifications/preferences': ['preferences'],
};

describe('fuzz: generated requests and socket payloads never break the contract', () => {
  let h: TestHerald;
  let operations: Operation[];
  /** The real ids behind the cases' `⟨ref⟩` placeholders. */
  const ids: Record<string, string> = {};
  /** Request ids of refused mutations: no job may ever carry one. */
  const refusedRequestIds: string[] = [];
  const acceptedUploadIds: string[] = [];
  const stats = { http: 0, sweep: 0, socket: 0, checkedBatches: 0, statuses: new Map<number, number>(), started: Date.now() };

  beforeAll(async () => {
    h = await startTestHerald({
      env: { WORKER_CONCURRENCY: '4', SOCKET_RATE_LIMIT: '100000', SOCKET_RATE_BURST: '100000', SUMMARY_DEBOUNCE_MS: '50' },
    });
    await makeFixtures();
    const docs = await (await fetch(`${h.url}/docs`)).json();
    operations = [...operationsOf(docs), ...EXTRA_TARGETS];
    console.log(`fuzz: FUZZ_SEED=${SEED}, ${operations.length} routes, ${HTTP_CASES} HTTP and ${SOCKET_CASES} socket cases`);
  }, 120_000);

  afterAll(async () => {
    const seconds = ((Date.now() - stats.started) / 1000).toFixed(1);
    const statuses = [...stats.statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ');
    console.log(`fuzz: ${stats.http} HTTP (${stats.sweep} of them the boundary sweep) + ${stats.socket} socket cases in ${seconds} s (FUZZ_SEED=${SEED}); statuses ${statuses}; ${stats.checkedBatches} batches checked for writes by refused requests`);
    if (SURVEY) console.log(`fuzz: ${surveyed.length} violation(s):\n  ${surveyed.join('\n  ')}`);
    await h?.close();
  }, 120_000);

  /** Uploads as a user and returns the document, its first chapter and its ingest job. */
  async function uploadAs(user: string, kind: 'book' | 'screenplay') {
    const content = kind === 'book' ? manuscript(2) : 'INT. HARBOUR - NIGHT\n\nMARA\nWho is there?\n\nEXT. PIER - DAY\n\nTOMAS\nOnly me.';
    const res = await h.api(user, '/api/documents', { method: 'POST', json: { title: `Fuzz ${kind}`, kind, content } });
    if (res.status !== 202) throw new Error(`fixture upload answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { document: { id: string }; chapters: { id: string }[]; job_id: string };
    return { documentId: body.document.id, chapterId: body.chapters[0]!.id, jobId: body.job_id };
  }

  async function share(owner: string, documentId: string, user: string, role: 'editor' | 'viewer') {
    const res = await h.api(owner, `/api/documents/${documentId}/members`, { method: 'POST', json: { user_id: user, role } });
    if (res.status !== 201) throw new Error(`fixture share answered ${res.status}: ${await res.text()}`);
  }

  const FIXTURES = [
    { doc: 'ownBook', chapter: 'ownBookChapter', owner: 'fuzz-a', kind: 'book', job: 'ownJob' },
    { doc: 'ownScreenplay', chapter: 'ownScreenplayChapter', owner: 'fuzz-a', kind: 'screenplay' },
    { doc: 'sharedEdit', chapter: 'sharedEditChapter', owner: 'fuzz-b', kind: 'book', member: 'editor' },
    { doc: 'sharedView', chapter: 'sharedViewChapter', owner: 'fuzz-b', kind: 'screenplay', member: 'viewer' },
    { doc: 'othersDoc', chapter: 'othersChapter', owner: 'fuzz-b', kind: 'book', job: 'othersJob' },
  ] as const;

  /** Makes every fixture a case may aim at, and makes again any a case deleted. */
  async function makeFixtures() {
    ids.userA = 'fuzz-a';
    ids.userB = 'fuzz-b';
    const present = new Set((await h.db.sql<{ id: string }[]>`select id::text from documents where id::text = any(${FIXTURES.map((f) => ids[f.doc] ?? '')})`).map((r) => r.id));
    for (const f of FIXTURES) {
      if (present.has(ids[f.doc] ?? '')) continue;
      const made = await uploadAs(f.owner, f.kind);
      ids[f.doc] = made.documentId;
      ids[f.chapter] = made.chapterId;
      if ('job' in f) ids[f.job] = made.jobId;
      if ('member' in f) await share(f.owner, made.documentId, 'fuzz-a', f.member);
    }
    if (!ids.ownNotification || !ids.othersNotification) {
      const rows = await h.db.sql<{ id: string; user_id: string }[]>`select id::text, user_id from notifications where user_id in ('fuzz-a', 'fuzz-b') order by seq`;
      ids.ownNotification ??= rows.find((r) => r.user_id === 'fuzz-a')?.id ?? '';
      ids.othersNotification ??= rows.find((r) => r.user_id === 'fuzz-b')?.id ?? '';
      if (!ids.ownNotification) delete ids.ownNotification;
      if (!ids.othersNotification) delete ids.othersNotification;
    }
  }

  /** What a refused request must not change: rows a route writes synchronously, counted or hashed. */
  async function footprint(): Promise<Footprint> {
    const [row] = await h.db.sql<Footprint[]>`
      select (select count(*)::int from documents) as documents,
             (select count(*)::int from chapters) as chapters,
             (select coalesce(sum(version), 0)::text from chapters) as chapter_version_sum,
             (select count(*)::int from chapter_versions) as chapter_versions,
             (select md5(coalesce(string_agg(document_id::text || user_id || role, ',' order by document_id, user_id), '')) from document_members) as members,
             (select count(*)::int from refreshes) as refreshes,
             (select md5(coalesce(string_agg(user_id || array_to_string(kinds, '|'), ',' order by user_id), '')) from notification_preferences) as preferences,
             (select count(*)::int from notifications where read_at is not null) as read_notifications`;
    return row!;
  }

  function record(c: HttpCase, problems: string[], into: string[]) {
    for (const problem of problems) into.push(`${problem}\n    case: ${describeCase(c)}`);
  }

  async function runHttpBatch(batch: HttpCase[]): Promise<void> {
    const before = await footprint();
    const problems: string[] = [];
    /** Footprint parts an accepted request of the batch may have changed. */
    const mayChange = new Set<string>();
    const results = await Promise.all(
      batch.map(async (c): Promise<HttpResult | undefined> => {
        try {
          return await sendCase(h.url, c, ids);
        } catch (error) {
          problems.push(`no answer: ${(error as Error).message} ${(error as { cause?: Error }).cause?.message ?? ''}\n    case: ${describeCase(c)}`);
          for (const part of FOOTPRINT_PARTS) mayChange.add(part); // outcome unknown
          return undefined;
        }
      }),
    );
    results.forEach((r, i) => {
      const c = batch[i]!;
      if (!r) return;
      stats.http++;
      stats.statuses.set(r.status, (stats.statuses.get(r.status) ?? 0) + 1);
      record(c, contractViolations(c, r), problems);
      const mutation = !SAFE_METHODS.has(c.method);
      if (mutation && r.status < 400) for (const part of ROUTE_WRITES[`${c.method} ${c.template}`] ?? FOOTPRINT_PARTS) mayChange.add(part);
      const ownRequestId = !c.headers.some(([k]) => k === 'x-request-id');
      if (mutation && r.status >= 400 && r.requestId && ownRequestId) refusedRequestIds.push(r.requestId);
      if (c.target === 'POST /api/documents' && c.method === 'POST' && r.status === 202 && r.requestId && ownRequestId) acceptedUploadIds.push(r.requestId);
    });
    if (mayChange.size < FOOTPRINT_PARTS.length) {
      stats.checkedBatches++;
      const after = await footprint();
      const changed = FOOTPRINT_PARTS.filter((p) => !mayChange.has(p) && String(after[p]) !== String(before[p]));
      if (changed.length) {
        const diff = changed.map((p) => `${p} ${String(before[p])} → ${String(after[p])}`).join(', ');
        problems.push(`refused requests changed the database: ${diff}\n    batch: ${batch.map(describeCase).join('\n           ')}`);
      }
    }
    await makeFixtures();
    fail(problems);
  }

  it('HTTP: every route, every body type, hostile values: no 5xx, the error envelope, nothing half-written', async () => {
    // The boundary sweep goes first, as fast-check examples; then the random cases.
    const sweep = boundaryCases(operations);
    const examples = Array.from({ length: Math.ceil(sweep.length / BATCH) }, (_, i): [HttpCase[]] => [sweep.slice(i * BATCH, (i + 1) * BATCH)]);
    const arbitrary = fc.limitShrink(fc.array(httpCase(operations), { minLength: BATCH, maxLength: BATCH }), 100);
    await fc.assert(fc.asyncProperty(arbitrary, runHttpBatch), {
      seed: SEED,
      ...(PATH && { path: PATH }),
      examples,
      // fast-check counts examples among the runs.
      numRuns: PATH ? 1 : examples.length + HTTP_CASES / BATCH,
      reporter: failureReport('HTTP'),
    });
    stats.sweep = sweep.length;
    if (!PATH) expect(stats.http).toBe(sweep.length + HTTP_CASES);
  }, 600_000);

  it('socket: subscribe, unsubscribe and presence payloads and handshakes: acks of the contract’s shape, the socket stays up', async () => {
    const pool: Record<'fuzz-a' | 'fuzz-b', ClientSocket> = {
      'fuzz-a': await openSocket(h.url, { token: await tokenFor('fuzz-a') }),
      'fuzz-b': await openSocket(h.url, { token: await tokenFor('fuzz-b') }),
    };
    const events = await handledEvents(pool['fuzz-a']);
    try {
      const runSocketBatch = async (batch: SocketCase[]) => {
        const problems: string[] = [];
        const outcomes = await Promise.all(
          batch.map(async (c) => {
            const found = c.kind === 'handshake' ? await runHandshake(h.url, c) : await runEmit(pool[c.as], c, ids);
            stats.socket++;
            return found;
          }),
        );
        // A message past the size limit may close its socket, and with it every ack pending on that socket.
        const oversized = new Set(batch.filter((c) => c.kind === 'emit' && Buffer.byteLength(JSON.stringify(c.payload) ?? '') > OVERSIZE_BYTES - 1024).map((c) => (c as { as: string }).as));
        outcomes.forEach((found, i) => {
          const c = batch[i]!;
          for (const problem of found) {
            if (c.kind === 'emit' && oversized.has(c.as) && problem.startsWith('the socket was dropped')) continue;
            problems.push(`${problem}\n    case: ${describeSocketCase(c)}`);
          }
        });
        for (const user of ['fuzz-a', 'fuzz-b'] as const) {
          if (pool[user].connected) {
            const ack = await pool[user].timeout(10_000).emitWithAck('unsubscribe', { document_id: '00000000-0000-4000-8000-000000000000' }).catch((e: Error) => e);
            if (!(ack && (ack as { ok?: boolean }).ok === true)) problems.push(`the ${user} socket no longer answers: ${String(ack)}`);
          } else if (!oversized.has(user)) {
            problems.push(`the ${user} socket was disconnected\n    batch: ${batch.map(describeSocketCase).join('\n           ')}`);
          }
          if (!pool[user].connected) pool[user] = await openSocket(h.url, { token: await tokenFor(user) });
        }
        await makeFixtures();
        fail(problems);
      };
      const arbitrary = fc.limitShrink(fc.array(socketCase(events), { minLength: BATCH, maxLength: BATCH }), 100);
      await fc.assert(fc.asyncProperty(arbitrary, runSocketBatch), {
        seed: SEED,
        ...(PATH && { path: PATH }),
        numRuns: PATH ? 1 : SOCKET_CASES / BATCH,
        reporter: failureReport('socket'),
      });
      if (!PATH) expect(stats.socket).toBe(SOCKET_CASES);
    } finally {
      pool['fuzz-a'].disconnect();
      pool['fuzz-b'].disconnect();
    }
  }, 600_000);

  it('afterwards: /health is 200, an upload completes, sockets get its events, and no refused request queued a job', async () => {
    const health = await fetch(`${h.url}/health`);
    expect(health.status, await health.clone().text()).toBe(200);

    const client = await connectClient(h.url, await h.token('fuzz-after'));
    try {
      const res = await h.api('fuzz-after', '/api/documents', { method: 'POST', json: { title: 'After the fuzz', content: manuscript(2) } });
      expect(res.status).toBe(202);
      const { document, chapters } = (await res.json()) as { document: { id: string }; chapters: { id: string }[] };
      const ack = (await client.subscribe({ document_id: document.id })) as Extract<SubscribeAck, { ok: true }>;
      expect(ack.ok).toBe(true);
      const done = () =>
        ack.snapshot?.document.status === 'completed' ||
        client.of(document.id).some((e) => e.name === 'document.progress' && (e.event as DocumentEvent<'document.progress'>).status === 'completed');
      await waitFor('the post-fuzz upload to complete', done, 90_000);
      const save = await h.api('fuzz-after', `/api/chapters/${chapters[0]!.id}`, { method: 'PATCH', json: { base_version: 1, content: 'Edited after the fuzz.', op_id: 'after-1' } });
      expect(save.status).toBe(200);
      await waitFor('chapter.updated on the socket', () => client.of(document.id).some((e) => e.name === 'chapter.updated'), 30_000);
    } finally {
      client.close();
    }

    // Job rows carry the request id that caused them; an accepted upload's shows up, a refused request's never does.
    if (acceptedUploadIds.length > 0) {
      await waitFor('an accepted upload’s job row', async () => (await h.db.sql`select 1 from jobs where request_id = any(${acceptedUploadIds}) limit 1`).length > 0, 30_000);
    }
    const leaked = await h.db.sql<{ request_id: string; type: string }[]>`select request_id, type from jobs where request_id = any(${refusedRequestIds})`;
    expect(leaked, 'jobs queued by requests that were refused').toEqual([]);
  }, 180_000);
});

function fail(problems: string[]): void {
  if (problems.length === 0) return;
  if (SURVEY) surveyed.push(...problems);
  else throw new Error(`${problems.length} contract violation(s):\n  ${problems.join('\n  ')}`);
}

/**
 * Fails the test with the violations of the smallest failing batch found and
 * the command that replays it (the batch itself is in the message, cut short).
 */
function failureReport<T>(testName: string) {
  return (details: fc.RunDetails<T>) => {
    if (!details.failed) return;
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      `${cause}\n\nFailed after ${details.numRuns} batch(es), shrunk ${details.numShrinks} time(s). Replay:\n` +
        `  FUZZ_SEED=${SEED} FUZZ_PATH=${details.counterexamplePath} npx vitest run test/integration/fuzz.test.ts -t ${testName}`,
    );
  };
}

/** The client events the gateway answers: presence is probed, since a gateway without it never acks. */
async function handledEvents(socket: ClientSocket): Promise<string[]> {
  const answers = await (socket.timeout(3000) as unknown as { emitWithAck(e: string, p: unknown): Promise<unknown> })
    .emitWithAck('presence', { document_id: '00000000-0000-4000-8000-000000000000', chapter_id: null })
    .then(() => true, () => false);
  if (!answers) console.log('fuzz: this gateway does not answer `presence`; its payloads are not fuzzed');
  return ACKED_EVENTS.filter((e) => e !== 'presence' || answers);
}
