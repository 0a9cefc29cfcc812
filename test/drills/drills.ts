/** The fault drills: each names its fault and applies it mid-ingest on a fresh stage (see scene.ts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sign } from 'hono/jwt';
import { DRILL_AUTH_SECRET } from './deployment.ts';
import { forkHostile, startWriter, summarise, type HostileTally, type WriterPhase } from './hostile.ts';
import { describeError, jobLockMs, type DrillSpec, type Stage } from './scene.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BLOCK_LOOP = new URL('./block-loop.ts', import.meta.url).pathname;

/** Jobs BullMQ declared stalled, from the queues' event streams. */
async function stalledJobs(stage: Stage): Promise<number> {
  const redis = new Redis(stage.redis.url, { maxRetriesPerRequest: 1 });
  try {
    let n = 0;
    for (const queue of ['chapters', 'documents', 'artifacts']) {
      const entries = await redis.xrange(`herald:${queue}:events`, '-', '+');
      if (process.env.DRILL_DEBUG) console.log(queue, JSON.stringify(Object.entries(entries.reduce<Record<string, number>>((a, [, f]) => ((a[f[1]!] = (a[f[1]!] ?? 0) + 1), a), {}))));
      n += entries.filter(([, fields]) => fields[1] === 'stalled').length;
    }
    return n;
  } finally {
    redis.disconnect();
  }
}

/**
 * Waits (up to 30 s) until the worker process runs at least one chapter job, by
 * BullMQ's processedBy (`<host>:<pid>`) on the active jobs; returns how many it runs.
 */
async function activeChapterJobsOf(stage: Stage, worker: Stage['workers'][number]): Promise<number> {
  const redis = new Redis(stage.redis.url, { maxRetriesPerRequest: 1 });
  try {
    for (let i = 0; i < 300; i++) {
      const ids = await redis.lrange('herald:chapters:active', 0, -1);
      const by = await Promise.all(ids.map((id) => redis.hget(`herald:chapters:${id}`, 'pb')));
      const mine = by.filter((pb) => pb?.endsWith(`:${worker.child.pid}`)).length;
      if (mine > 0) return mine;
      await sleep(100);
    }
    return 0;
  } finally {
    redis.disconnect();
  }
}

/** One process's /metrics text; a refused or reset connection is tried again, up to 3 times a second apart. */
async function readMetrics(url: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    } catch (error) {
      if (attempt >= 3) throw new Error(`GET ${url}/metrics failed ${attempt} times: ${describeError(error)}`);
      await sleep(1000);
    }
  }
}

/** A counter of one process (from its /metrics), summed over its labels. */
async function counterTotal(url: string, name: string): Promise<number> {
  const text = await readMetrics(url);
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

async function dumpChapter(stage: Stage, documentId: string, chapterId: string): Promise<void> {
  const redis = new Redis(stage.redis.url, { maxRetriesPerRequest: 1 });
  try {
    const entries = await redis.xrange(`herald:{doc:${documentId}}:events`, '-', '+');
    for (const [id, fields] of entries) {
      const text = fields.join(' ');
      if (text.includes(chapterId)) console.log(id, text.slice(0, 300));
    }
    for (const w of stage.workers) console.log(`--- ${w.name}\n${w.stderrTail()}`);
  } finally {
    redis.disconnect();
  }
}

export const DRILLS: DrillSpec[] = [
  {
    name: 'worker-kill',
    what: 'SIGKILL a worker mid-ingest and start another',
    async fault(stage) {
      await stage.ingestUnderway();
      const victim = stage.workers[0]!;
      const held = await activeChapterJobsOf(stage, victim);
      await stage.deployment.kill(victim);
      stage.note(`worker-1 SIGKILLed while running ${held} chapter job(s); they wait for their lock to expire (${jobLockMs(stage.quick) / 1000} s) and run again`);
      stage.workers.push(await stage.deployment.start('worker', 'worker-3'));
      stage.note('worker-3 started');
    },
    async check(stage) {
      const stalled = await stalledJobs(stage);
      stage.note(`BullMQ declared ${stalled} job(s) stalled and ran them again`);
      if (stalled === 0) stage.missed('no job of the killed worker was declared stalled (it held none)');
    },
  },
  {
    name: 'gateway-kill',
    what: 'SIGKILL a gateway with clients attached',
    async fault(stage) {
      await stage.ingestUnderway();
      const attached = stage.load.clients.filter((c) => c['connection'].url === stage.gateways[0]!.url).length;
      await stage.deployment.kill(stage.gateways[0]!);
      stage.note(`gateway-1 SIGKILLed with ${attached} SDK client(s) attached; they fail over to gateway-2`);
      if (attached === 0) stage.missed('no client was attached to the killed gateway');
    },
  },
  {
    name: 'redis-restart',
    what: 'restart Redis (AOF on, appendfsync everysec) mid-ingest',
    async fault(stage) {
      await stage.ingestUnderway();
      await stage.redis.restart(2000);
      stage.note('redis-server SIGKILLed, down 2 s, restarted on the same AOF');
    },
  },
  {
    name: 'postgres-stop',
    what: 'stop PostgreSQL for 10 s mid-ingest, then start it',
    async fault(stage) {
      await stage.ingestUnderway();
      stage.cluster.stop('immediate');
      stage.note('PostgreSQL stopped (pg_ctl -m immediate)');
      await sleep(10_000);
      await stage.cluster.start();
      stage.note('PostgreSQL started after 10 s');
    },
    async check(stage) {
      let waits = 0;
      for (const w of stage.workers) waits += await counterTotal(w.url, 'herald_job_store_waits_total');
      stage.note(`jobs went back to wait for PostgreSQL ${waits} time(s) without spending an attempt (herald_job_store_waits_total)`);
      if (waits === 0) stage.missed('no job ran into the stopped PostgreSQL');
    },
  },
  {
    name: 'pubsub-kill',
    what: "kill the gateways' Redis pub/sub connections (CLIENT KILL TYPE pubsub) mid-ingest",
    async fault(stage) {
      await stage.ingestUnderway();
      const killed = await stage.redis.killPubSub();
      stage.note(`CLIENT KILL TYPE pubsub cut ${killed} connection(s)`);
      if (killed === 0) stage.missed('CLIENT KILL TYPE pubsub found no connection to cut');
      await sleep(1500);
      const again = await stage.redis.killPubSub();
      stage.note(`…and again 1.5 s later: ${again} connection(s)`);
    },
  },
  {
    name: 'redis-cluster-failover',
    what: 'on a Redis Cluster (3 masters, a replica each), SIGKILL the master holding the queues mid-ingest; its replica takes over',
    redisCluster: true,
    async fault(stage) {
      const cluster = stage.redisCluster!;
      await stage.ingestUnderway();
      const queues = await cluster.masterOf('{herald}');
      await cluster.killNode(queues);
      stage.note(`master ${queues} (the queues' slot, and the documents hashed there) SIGKILLed mid-ingest`);
      for (let i = 0; i < 300; i++) {
        const now = await cluster.masterOf('{herald}').catch(() => queues);
        if (now !== queues) {
          stage.note(`its replica ${now} took over after about ${((i + 1) / 10).toFixed(1)} s`);
          return;
        }
        await sleep(100);
      }
      stage.missed('no replica took over within 30 s');
    },
  },
  {
    name: 'stall',
    what: "block a worker's event loop longer than the job lock: its jobs run again elsewhere while it is frozen",
    worker: (i, tmp, quick) =>
      i === 0 ? { nodeArgs: ['--import', BLOCK_LOOP], env: { DRILL_BLOCK_FILE: join(tmp, 'block'), DRILL_BLOCK_MS: String(jobLockMs(quick) * 1.5) } } : {},
    load: (quick) => ({ uploads: quick ? 3 : 6 }),
    settleMs: 150_000,
    async fault(stage) {
      await stage.ingestUnderway();
      writeFileSync(join(stage.tmp, 'block'), '');
      stage.note(`worker-1's event loop blocked for ${(jobLockMs(stage.quick) * 1.5) / 1000} s (lock ${jobLockMs(stage.quick) / 1000} s)`);
    },
    async check(stage, verdict) {
      const stalled = await stalledJobs(stage);
      stage.note(`BullMQ declared ${stalled} job(s) stalled and ran them again`);
      if (stalled === 0) stage.missed('no job of the frozen worker was declared stalled');
      let flips = 0;
      let repeated = 0;
      for (const r of stage.load.stores) {
        for (const [chapter, statuses] of r.statuses) {
          const done = statuses.indexOf('completed');
          if (done >= 0 && statuses.slice(done + 1).some((s) => s !== 'completed')) {
            flips++;
            if (flips <= 3) verdict.losses.push(`client ${r.client} saw chapter ${chapter.slice(0, 8)} go ${statuses.join(' → ')} (not one final state)`);
            if (flips === 1 && process.env.DRILL_DEBUG) await dumpChapter(stage, r.store.documentId, chapter);
          }
          // The first document's chapters are edited, and each save legitimately re-runs a summary.
          if (r.store.documentId !== stage.load.acceptedDocuments[0] && statuses.filter((s) => s === 'completed').length > 1) repeated++;
        }
      }
      verdict.lines.push(`final states: ${flips} chapter(s) seen leaving "completed"; ${repeated} chapter(s) of the unedited documents announced "completed" more than once (a stalled run and its re-run both finishing)`);
    },
  },
  {
    name: 'reconnect-storm',
    what: 'drop every socket at once and let them all reconnect and resume with since',
    load: (quick) => ({ uploads: 2, uploadEveryMs: 500, watchers: quick ? 300 : 2000, editors: 4 }),
    async fault(stage) {
      await stage.ingestUnderway();
      const clients = stage.load.clients;
      for (let i = 0; i < 600 && clients.some((c) => c.status !== 'connected'); i++) await sleep(100);
      const t = performance.now();
      let dropped = 0;
      for (const c of clients) {
        const socket = c['connection'].socket;
        if (socket) {
          socket.io.engine.close();
          dropped++;
        }
      }
      for (let i = 0; i < 1200 && clients.some((c) => c.status !== 'connected'); i++) await sleep(100);
      const back = clients.filter((c) => c.status === 'connected').length;
      stage.note(`${dropped} sockets dropped at once; ${back} reconnected in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      if (dropped < clients.length) stage.missed(`only ${dropped} of ${clients.length} sockets were connected to be dropped`);
    },
  },
  {
    name: 'backpressure',
    what: "fill the batched writer's queue past its bound (WRITE_QUEUE_MAX_ROWS=4) with 32 jobs per worker",
    env: { WRITE_QUEUE_MAX_ROWS: '4', WRITE_BATCH_MAX_ROWS: '2', WORKER_CONCURRENCY: '32', AI_SIMULATED_LATENCY_MS: '0' },
    load: (quick) => ({ uploadEveryMs: 200, uploads: quick ? 6 : 12 }),
    async fault(stage) {
      // The fault is the bound itself: wait until a job finds a writer full. Not for a count of running jobs, sampled
      // every 100 ms: with no model latency a run of chapters is over in milliseconds, and a sample may never see six.
      const waits = () => Promise.all(stage.workers.map((w) => counterTotal(w.url, 'herald_writer_waits_total'))).then((n) => n.reduce((a, b) => a + b, 0));
      for (const deadline = Date.now() + 60_000; (await waits()) === 0; await sleep(100)) {
        if (Date.now() > deadline) return stage.missed('no job found a writer full within 60 s of the first upload');
      }
      stage.note('writers held to 4 pending rows: 64 concurrent jobs wait on it instead of growing memory');
    },
    async check(stage) {
      let waits = 0;
      for (const w of stage.workers) waits += await counterTotal(w.url, 'herald_writer_waits_total');
      stage.note(`jobs waited for room in a full writer ${waits} time(s) (herald_writer_waits_total, both workers)`);
    },
  },
];

/** The hostile-user drill's phases: alternated, so the machine's drift falls on both kinds alike. */
const hostileRun = { phases: [] as { hostile: boolean; result: WriterPhase }[], tally: undefined as HostileTally | undefined };

DRILLS.push({
  name: 'hostile-user',
  what: "one user sends the worst inputs at once while a normal writer uploads and autosaves; the writer's figures with and without",
  // No simulated model latency: the drill is about what one user's requests cost everyone else, not model time.
  // The per-user limits at their defaults (the other drills lift them: their load is many users under one token).
  env: { AI_SIMULATED_LATENCY_MS: '0', WORKER_CONCURRENCY: '16', SOCKET_MAX_PER_USER: '20', USER_REQUEST_CONCURRENCY: '4' },
  load: () => ({ uploads: 1, editors: 1, watchers: 1 }),
  async fault(stage) {
    hostileRun.phases = [];
    const maxUploadBytes = 10 * 1024 * 1024;
    const writerApi = { apiUrl: stage.api.url, gatewayUrl: stage.gateways[0]!.url, token: await stage.deployment.token('normal-writer') };
    const hostileToken = await stage.deployment.token('hostile-user');
    const now = Math.floor(Date.now() / 1000);
    const hostile = forkHostile({
      api: {
        apiUrl: stage.api.url,
        gatewayUrl: stage.gateways[1]!.url,
        token: hostileToken,
        secretlessToken: await sign({ sub: 'hostile-user' }, DRILL_AUTH_SECRET, 'HS256'),
        expiredToken: await sign({ sub: 'hostile-user', exp: now - 60 }, DRILL_AUTH_SECRET, 'HS256'),
        maxUploadBytes,
      },
      bigDocumentId: await bigDocument(stage, hostileToken, stage.quick ? 2000 : 10_000),
    });
    await hostile.prepare();
    const writer = await startWriter(writerApi, { chapters: 20, saveEveryMs: 200 });
    const phaseMs = stage.quick ? 12_000 : 30_000;
    try {
      for (const withHostile of stage.quick ? [false, true, false, true] : [false, true, false, true, false, true]) {
        if (withHostile) await hostile.start();
        const result = await writer.phase(phaseMs);
        if (withHostile) await hostile.pause();
        hostileRun.phases.push({ hostile: withHostile, result });
      }
      hostileRun.tally = await hostile.tally();
    } finally {
      hostile.close();
      writer.close();
    }
    stage.note(`${hostileRun.phases.length} phases of ${phaseMs / 1000} s, alternating without and with the hostile user`);
  },
  async check(_stage, verdict) {
    const base = summarise(hostileRun.phases.filter((p) => !p.hostile).map((p) => p.result));
    const under = summarise(hostileRun.phases.filter((p) => p.hostile).map((p) => p.result));
    const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
    verdict.lines.push(
      `writer without the hostile user: ${base.saves} saves p50 ${base.saveP50.toFixed(1)} / p99 ${base.saveP99.toFixed(1)} ms; ${base.uploads} uploads (20 chapters) answered in median ${base.answerMedian.toFixed(0)} ms, done in ${base.uploadMedian.toFixed(0)} ms`,
      `writer with the hostile user:    ${under.saves} saves p50 ${under.saveP50.toFixed(1)} / p99 ${under.saveP99.toFixed(1)} ms; ${under.uploads} uploads (20 chapters) answered in median ${under.answerMedian.toFixed(0)} ms, done in ${under.uploadMedian.toFixed(0)} ms`,
      `ratio with / without: autosave p99 ${ratio(under.saveP99, base.saveP99)}×, upload-to-done ${ratio(under.uploadMedian, base.uploadMedian)}× (goal ≤ 1.5×)`,
    );
    const tally = hostileRun.tally!;
    for (const [attack, byStatus] of tally.statuses) {
      verdict.lines.push(`hostile ${attack}: ${[...byStatus].map(([s, n]) => `${n}× ${s}`).join(', ')}`);
    }
    for (const f of [...new Set(tally.findings)].slice(0, 20)) verdict.losses.push(`hostile user: ${f}`);
    for (const f of [...base.failures, ...under.failures].slice(0, 20)) verdict.losses.push(`the normal writer: ${f}`);
    if (under.saves === 0 || under.uploads === 0) verdict.losses.push('the normal writer got nothing done while the hostile user ran');
  },
});

/** A large document of the hostile user's (its package requests are the heavy ones), ingested before the phases start. */
async function bigDocument(stage: Stage, token: string, chapters: number): Promise<string> {
  const content = Array.from({ length: chapters }, (_, i) => `# Part ${i + 1}\n\nMara crossed the harbour ${i} times before dawn.\n`).join('\n');
  const res = await fetch(`${stage.api.url}/api/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Big', content }),
  });
  const body = (await res.json()) as { document?: { id: string } };
  if (res.status !== 202 || !body.document) throw new Error(`the hostile user's ${chapters}-chapter upload answered ${res.status}`);
  const id = body.document.id;
  for (let i = 0; i < 1200; i++) {
    const doc = (await (await fetch(`${stage.api.url}/api/documents/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { document: { status: string } };
    if (doc.document.status !== 'processing') {
      stage.note(`the hostile user's ${chapters}-chapter document ingested (${doc.document.status})`);
      return id;
    }
    await sleep(250);
  }
  throw new Error(`the hostile user's ${chapters}-chapter document did not finish ingesting within 300 s`);
}
