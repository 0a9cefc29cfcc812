/**
 * The capacity group: what each unit of work costs every part of a
 * deployment, and a check of the model built on those costs
 * (capacity-model.ts) against a run at the largest load these cores hold.
 *
 * It runs on a PostgreSQL cluster and a redis-server of its own (so their CPU,
 * pg_stat_statements and INFO counters hold only this group's work) with
 * Herald as three processes: api, gateway, worker. Units:
 *
 *  - a chapter: a 300-chapter upload ingested, one socket watching;
 *  - a save and a delivery: autosaves at a steady rate on documents each
 *    watched by many sockets, each chapter saved once, so every save also
 *    runs its summary refresh (a writer typing steadily saves about once a
 *    second and refreshes once per pause: the model counts a refresh per
 *    save, an upper bound);
 *  - an idle socket: subscribed sockets doing nothing, per second, and
 *    the gateway's memory per socket.
 *
 * The check then runs more sockets on more documents with another fan-out,
 * predicts every part's CPU, the Redis commands and the PostgreSQL
 * statements from the units, and reports each prediction's error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { QUEUES } from '../../jobs/contracts.ts';
import { startPrivateCluster, type PrivateCluster } from '../drills/infra.ts';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.ts';
import { connectClient, waitForDocumentDone } from '../support/socket.ts';
import { capacityTable, DEFAULT_ACTIVITY, type CpuMs, type UnitCosts } from './capacity-model.ts';
import { postJson, type BenchContext } from './harness.ts';
import { novel } from './prose.ts';
import { rssKiB, startHeraldProcess, startSwarm, type ServerProcess, type Swarm } from './realtime/processes.ts';
import type { Figure } from './stats.ts';
import { processCpuSeconds, startWorkerProcess, type WorkerProcess } from './worker-process.ts';

/** Each workload saves every chapter at most once (saves ≤ documents), so a save and its summary refresh are one unit. */
export interface CapacityPlan {
  ingestChapters: number;
  /** The unit run: documents, sockets watching each, saves and their rate. */
  unit: { documents: number; watchers: number; saves: number; savesPerS: number; idleSeconds: number };
  /** The check run, with another shape: more documents, fewer watchers each. */
  check: { documents: number; watchers: number; saves: number; savesPerS: number; idleSeconds: number };
}

const log = (message: string) => console.error(`[capacity] ${message}`);
const PARTS = ['api', 'gateway', 'worker', 'redis', 'postgres'] as const;

interface Reading {
  at: number;
  cpuMs: CpuMs;
  redisCommands: number;
  redisBytes: number;
  pgStatements: number;
  deliveries: number;
}

interface Stack {
  api: ServerProcess;
  gateway: ServerProcess;
  worker: WorkerProcess;
  redis: PrivateRedis;
  probe: Redis;
  pg: PrivateCluster;
  sql: postgres.Sql;
  token: string;
  prefix: string;
  swarms: Swarm[];
  read(): Promise<Reading>;
  close(): Promise<void>;
}

export async function benchCapacity(ctx: BenchContext, plan: CapacityPlan): Promise<Figure[]> {
  const stack = await openStack(ctx);
  try {
    const chapter = await measureChapter(stack, plan.ingestChapters);
    // What the three processes, Redis and PostgreSQL cost with nothing to do (timers, heartbeats, BullMQ's polling).
    await sleep(3000);
    const base = perSecond(await measureIdle(stack, plan.unit.idleSeconds));
    const unit = await measureSaves(stack, plan.unit, base);
    const units: UnitCosts = { chapter, ...unit.units, queueShare: unit.queueShare };
    const check = await checkModel(stack, plan.check, units, base);
    return figuresOf(units, check, plan);
  } finally {
    await stack.close();
  }
}

/** Herald as api, gateway and worker processes on the group's own PostgreSQL (with pg_stat_statements) and Redis. */
// Longer than ~60 lines on purpose: each part opened registers its close before the next opens, so a failure half-way closes what was opened.
async function openStack(ctx: BenchContext): Promise<Stack> {
  const pg = await startPrivateCluster(['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track_utility=off']);
  const redis = await startPrivateRedis();
  const databaseUrl = pg.url.replace(/\/postgres$/, '/herald');
  const env = ctx.heraldEnv(ctx.scenarioPrefix('capacity'), {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    // One bench user stands for many writers.
    AUTOSAVE_RATE: '100000',
    AUTOSAVE_BURST: '1000000',
    MAX_UPLOADS_IN_FLIGHT_PER_USER: '100000',
  });
  const opened: (() => Promise<unknown>)[] = [async () => redis.stop(), async () => pg.destroy()];
  const close = async () => {
    for (const step of opened.splice(0).reverse()) await step().catch((err: Error) => log(`close: ${err.message}`));
  };
  try {
    const api = await startHeraldProcess('api', env);
    opened.push(() => api.stop());
    const gateway = await startHeraldProcess('gateway', env);
    opened.push(() => gateway.stop());
    const worker = await startWorkerProcess(ctx, env.REDIS_PREFIX!, 64, { DATABASE_URL: databaseUrl, REDIS_URL: redis.url });
    opened.push(() => worker.stop());
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    opened.push(() => sql.end({ timeout: 5 }));
    await sql`create extension if not exists pg_stat_statements`;
    const probe = new Redis(redis.url);
    opened.push(async () => probe.disconnect());
    const swarms: Swarm[] = [];
    opened.push(() => Promise.all(swarms.splice(0).map((s) => s.request({ cmd: 'close' }).catch(() => undefined).then(() => s.stop()))));
    const postmaster = Number(readFileSync(join(pg.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const stack: Stack = {
      api, gateway, worker, redis, probe, pg, sql, swarms,
      prefix: env.REDIS_PREFIX!,
      token: await ctx.token('capacity-writer'),
      async read() {
        const [info, statements, deliveries] = await Promise.all([
          probe.info(),
          sql<{ n: number }[]>`
            select coalesce(sum(calls), 0)::float8 as n from pg_stat_statements
            where dbid = (select oid from pg_database where datname = current_database()) and query !~ 'pg_stat_statements'`,
          Promise.all(swarms.map((s) => s.request<'report'>({ cmd: 'report' }))).then((r) => r.reduce((n, x) => n + x.events, 0)),
        ]);
        const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)![1]);
        return {
          at: performance.now(),
          cpuMs: {
            api: processCpuSeconds(api.pid) * 1000,
            gateway: processCpuSeconds(gateway.pid) * 1000,
            worker: worker.cpuSeconds() * 1000,
            redis: (field('used_cpu_user') + field('used_cpu_sys')) * 1000,
            postgres: treeCpuSeconds(postmaster) * 1000,
          },
          redisCommands: field('total_commands_processed'),
          redisBytes: field('total_net_input_bytes') + field('total_net_output_bytes'),
          pgStatements: statements[0]!.n,
          deliveries,
        };
      },
      close,
    };
    return stack;
  } catch (error) {
    await close();
    throw error;
  }
}

/** CPU of a process and all its children, living and reaped (PostgreSQL's backends come and go). */
function treeCpuSeconds(root: number): number {
  const fields = (pid: number | string) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  };
  const own = fields(root);
  // utime, stime, cutime, cstime: fields 14 to 17, 11 to 14 after the command name.
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const f = fields(pid);
      if (Number(f[1]) === root) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks / 100;
}

type Delta = Omit<Reading, 'at'> & { seconds: number };

function delta(a: Reading, b: Reading): Delta {
  const cpuMs = Object.fromEntries(PARTS.map((p) => [p, b.cpuMs[p] - a.cpuMs[p]])) as unknown as CpuMs;
  return {
    seconds: (b.at - a.at) / 1000,
    cpuMs,
    redisCommands: b.redisCommands - a.redisCommands,
    redisBytes: b.redisBytes - a.redisBytes,
    pgStatements: b.pgStatements - a.pgStatements,
    deliveries: b.deliveries - a.deliveries,
  };
}

/** A delta spread per second, or per unit of work. */
function per(d: Delta, n: number): Delta {
  const cpuMs = Object.fromEntries(PARTS.map((p) => [p, d.cpuMs[p] / n])) as unknown as CpuMs;
  return { seconds: d.seconds / n, cpuMs, redisCommands: d.redisCommands / n, redisBytes: d.redisBytes / n, pgStatements: d.pgStatements / n, deliveries: d.deliveries / n };
}
const perSecond = (d: Delta) => per(d, d.seconds);

/** Subtracts `base` (per second) for the delta's duration: what the work cost beyond idling. */
function beyond(d: Delta, base: Delta): Delta {
  const s = d.seconds;
  const cpuMs = Object.fromEntries(PARTS.map((p) => [p, d.cpuMs[p] - base.cpuMs[p] * s])) as unknown as CpuMs;
  return {
    seconds: s,
    cpuMs,
    redisCommands: d.redisCommands - base.redisCommands * s,
    redisBytes: d.redisBytes - base.redisBytes * s,
    pgStatements: d.pgStatements - base.pgStatements * s,
    deliveries: d.deliveries,
  };
}

async function measureIdle(stack: Stack, seconds: number): Promise<Delta> {
  const before = await stack.read();
  await sleep(seconds * 1000);
  return delta(before, await stack.read());
}

/** One upload of `chapters` chapters from request to its last event, with one socket watching; after one warm-up upload. */
async function measureChapter(stack: Stack, chapters: number): Promise<UnitCosts['chapter']> {
  const watcher = await connectClient(stack.gateway.url, stack.token);
  try {
    const ingest = async (seed: number) => {
      const body = JSON.stringify({ title: `Capacity ${seed}`, content: novel(chapters, 500, seed) });
      const { document } = await postJson<{ document: { id: string } }>(`${stack.api.url}/api/documents`, stack.token, body);
      await watcher.subscribe({ document_id: document.id });
      await waitForDocumentDone(watcher, document.id, 120_000);
    };
    await ingest(1);
    await sleep(1000);
    const before = await stack.read();
    await ingest(2);
    await sleep(1000); // the last rows and events settle
    const d = per(delta(before, await stack.read()), chapters);
    log(`chapter: ${JSON.stringify(d)}`);
    return { cpuMs: d.cpuMs, redisCommands: d.redisCommands, redisBytes: d.redisBytes, pgStatements: d.pgStatements };
  } finally {
    watcher.close();
  }
}

interface Workload {
  documents: number;
  watchers: number;
  saves: number;
  savesPerS: number;
  idleSeconds: number;
}

interface OpenChapter {
  id: string;
  documentId: string;
  version: number;
  queue: Promise<void>;
}

interface Prepared {
  chapters: OpenChapter[];
  sockets: number;
  /** The gateway's RSS growth per socket while they connected and subscribed. */
  rssKiBPerSocket: number;
}

/** Small documents, processed, each with `watchers` sockets subscribed (the swarms are the stack's from then on). */
async function prepareWorkload(stack: Stack, w: Workload): Promise<Prepared> {
  const chapters: OpenChapter[] = [];
  const uploads = Array.from({ length: w.documents }, (_, i) => i);
  const lane = async () => {
    for (let i = uploads.shift(); i !== undefined; i = uploads.shift()) {
      const body = JSON.stringify({ title: `Watched ${i}`, content: novel(1, 200, 100 + i) });
      const answer = await postJson<{ document: { id: string }; chapters: { id: string }[] }>(`${stack.api.url}/api/documents`, stack.token, body);
      chapters.push({ id: answer.chapters[0]!.id, documentId: answer.document.id, version: 1, queue: Promise.resolve() });
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  await waitForProcessed(stack);
  for (const s of stack.swarms.splice(0)) await s.request({ cmd: 'close' }).catch(() => undefined).then(() => s.stop());
  await sleep(2000); // the closed sockets' claims and subscriptions go
  const rssBefore = await rssKiB(stack.gateway.pid);

  const sockets = w.documents * w.watchers;
  const swarmCount = Math.max(1, Math.ceil(sockets / 2500));
  for (let i = 0; i < swarmCount; i++) stack.swarms.push(startSwarm());
  // Socket k of the whole set watches document k mod n, so every document gets `watchers` sockets.
  let offset = 0;
  const replies = await Promise.all(
    stack.swarms.map((s, i) => {
      const count = Math.floor(sockets / swarmCount) + (i < sockets % swarmCount ? 1 : 0);
      const ids = Array.from({ length: count }, (_, k) => chapters[(offset + k) % chapters.length]!.documentId);
      offset += count;
      return s.request<'connected'>({ cmd: 'connect', url: stack.gateway.url, target: 'herald', count, token: stack.token, documentId: ids[0]!, documentIds: ids, subscribe: true });
    }),
  );
  // A few handshakes may time out while thousands start at once on two cores: the costs are per socket that did subscribe.
  const subscribed = replies.reduce((n, r) => n + r.subscribed, 0);
  if (subscribed < sockets * 0.8) throw new Error(`only ${subscribed} of ${sockets} sockets subscribed (run through npm run bench, which raises ulimit -n)`);
  if (subscribed < sockets) log(`${sockets - subscribed} of ${sockets} sockets did not subscribe; costs are per subscribed socket`);
  await sleep(3000); // subscriptions' snapshots settle
  for (const s of stack.swarms) await s.request({ cmd: 'reset' });
  return { chapters, sockets: subscribed, rssKiBPerSocket: ((await rssKiB(stack.gateway.pid)) - rssBefore) / subscribed };
}

/** Waits until every chapter has a final result (the workload's uploads are processed). */
async function waitForProcessed(stack: Stack): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const [row] = await stack.sql<{ open: number }[]>`
      select count(*)::int as open from chapters c left join chapter_results r on r.chapter_id = c.id
      where r.status is null or r.status not in ('completed', 'failed')`;
    if (row!.open === 0) return;
    await sleep(500);
  }
  throw new Error('the workload documents were not processed within 3 minutes');
}

/** `count` autosaves at `rate` per second, round-robin over the chapters, each chapter's saves in order. */
async function saveAtRate(stack: Stack, chapters: OpenChapter[], count: number, rate: number): Promise<number> {
  let saved = 0;
  const save = (c: OpenChapter, i: number) => async () => {
    const res = await fetch(`${stack.api.url}/api/chapters/${c.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ base_version: c.version, content: `${novel(1, 200, 1000 + i)} (${i})`, op_id: `cap-${c.id}-${i}` }),
    });
    if (res.status === 200) {
      c.version = ((await res.json()) as { chapter: { version: number } }).chapter.version;
      saved++;
    } else await res.body?.cancel();
  };
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const c = chapters[i % chapters.length]!;
    c.queue = c.queue.then(save(c, i));
  }
  await Promise.all(chapters.map((c) => c.queue));
  if (saved < count) log(`${count - saved} of ${count} saves were not answered 200`);
  return saved;
}

/**
 * The idle sockets' cost per second, then the saves' cost beyond idling (summary refreshes and their events
 * included). With `countQueue`, the workload's documents are twice as many: after the measured saves, as many
 * again on the other half run under MONITOR for the queue's share of commands, which would otherwise inflate
 * Redis's own CPU and traffic in the measured figures.
 */
async function runWorkload(stack: Stack, w: Workload, base: Delta, countQueue = false) {
  if (w.saves > w.documents) throw new Error(`the capacity plan saves ${w.saves} times on ${w.documents} documents: at most one save per document`);
  const prepared = await prepareWorkload(stack, w);
  const measured = prepared.chapters.slice(0, w.saves);
  const idle = beyond(await measureIdle(stack, w.idleSeconds), base);
  const before = await stack.read();
  const work = async (chapters: OpenChapter[]) => {
    await saveAtRate(stack, chapters, w.saves, w.savesPerS);
    await sleep(4000); // summary refreshes (debounced 2 s) and their events
  };
  await work(measured);
  const total = delta(before, await stack.read());
  const rest = prepared.chapters.slice(w.saves, 2 * w.saves);
  const queueShare = countQueue && rest.length === w.saves ? await shareOfQueueCommands(stack, () => work(rest)) : Number.NaN;
  return { prepared, idle: perSecond(idle), total, queueShare };
}

async function measureSaves(stack: Stack, w: Workload, base: Delta): Promise<{ units: Omit<UnitCosts, 'chapter' | 'queueShare'>; queueShare: number }> {
  const { prepared, idle, total, queueShare } = await runWorkload(stack, w, base, true);
  // Beyond idling: the base, and the idle sockets' own cost over the run, are not the saves'.
  const work = beyond(beyond(total, base), idle);
  const cpuMs = Object.fromEntries(PARTS.map((p) => [p, work.cpuMs[p] / w.saves])) as unknown as CpuMs;
  const gatewayPerDelivery = work.cpuMs.gateway / Math.max(work.deliveries, 1);
  cpuMs.gateway = 0; // a save's gateway work is its deliveries, counted per delivery
  log(`saves: ${JSON.stringify(per(work, w.saves))}; idle per second: ${JSON.stringify(idle)}`);
  return {
    units: {
      save: {
        cpuMs,
        redisCommands: work.redisCommands / w.saves,
        redisBytes: work.redisBytes / w.saves,
        pgStatements: work.pgStatements / w.saves,
        eventsPerWatcher: work.deliveries / w.saves / (prepared.sockets / w.documents),
      },
      delivery: { gatewayCpuMs: gatewayPerDelivery },
      socket: {
        gatewayCpuMsPerS: idle.cpuMs.gateway / prepared.sockets,
        redisCpuMsPerS: idle.cpuMs.redis / prepared.sockets,
        redisCommandsPerS: idle.redisCommands / prepared.sockets,
        rssKiB: prepared.rssKiBPerSocket,
      },
    },
    queueShare,
  };
}

/**
 * The share of Redis commands (top-level and inside scripts) whose first key
 * is one of BullMQ's, read with MONITOR while `work` runs: on Redis Cluster
 * those all run on the queue's one shard.
 */
async function shareOfQueueCommands(stack: Stack, work: () => Promise<void>): Promise<number> {
  const prefix = stack.prefix;
  const queuePrefixes = Object.values(QUEUES).flatMap((q) => [`${prefix}:${q}:`, `{${prefix}}:${q}:`]);
  const monitor = await stack.probe.monitor();
  let all = 0;
  let queue = 0;
  monitor.on('monitor', (_time: string, args: string[]) => {
    const command = args[0]?.toLowerCase();
    const key = command === 'evalsha' || command === 'eval' ? (Number(args[2]) > 0 ? args[3] : undefined) : args[1];
    all++;
    if (key && queuePrefixes.some((p) => key.startsWith(p))) queue++;
  });
  try {
    await work();
  } finally {
    monitor.disconnect();
  }
  return queue / Math.max(all, 1);
}

interface Check {
  rows: { what: string; predicted: number; measured: number; unit: string }[];
  sockets: number;
}

/** Runs the check workload and compares each part's cost with what the units predict for it. */
async function checkModel(stack: Stack, w: Workload, units: UnitCosts, base: Delta): Promise<Check> {
  const { prepared, total } = await runWorkload(stack, w, base);
  const s = total.seconds;
  const sockets = prepared.sockets;
  const deliveries = w.saves * (sockets / w.documents) * units.save.eventsPerWatcher;
  const predictCpu = (part: keyof CpuMs) => base.cpuMs[part] * s + w.saves * units.save.cpuMs[part];
  const rows: Check['rows'] = [
    { what: 'deliveries', predicted: deliveries, measured: total.deliveries, unit: 'events' },
    {
      what: 'gateway CPU',
      predicted: predictCpu('gateway') + sockets * units.socket.gatewayCpuMsPerS * s + deliveries * units.delivery.gatewayCpuMs,
      measured: total.cpuMs.gateway,
      unit: 'ms',
    },
    { what: 'API CPU', predicted: predictCpu('api'), measured: total.cpuMs.api, unit: 'ms' },
    { what: 'worker CPU', predicted: predictCpu('worker'), measured: total.cpuMs.worker, unit: 'ms' },
    { what: 'Redis CPU', predicted: predictCpu('redis') + sockets * units.socket.redisCpuMsPerS * s, measured: total.cpuMs.redis, unit: 'ms' },
    { what: 'PostgreSQL CPU', predicted: predictCpu('postgres'), measured: total.cpuMs.postgres, unit: 'ms' },
    {
      what: 'Redis commands',
      predicted: base.redisCommands * s + w.saves * units.save.redisCommands + sockets * units.socket.redisCommandsPerS * s,
      measured: total.redisCommands,
      unit: 'commands',
    },
    { what: 'PostgreSQL statements', predicted: base.pgStatements * s + w.saves * units.save.pgStatements, measured: total.pgStatements, unit: 'statements' },
    { what: 'gateway memory per socket', predicted: units.socket.rssKiB, measured: prepared.rssKiBPerSocket, unit: 'KiB' },
  ];
  for (const r of rows) log(`check ${r.what}: predicted ${r.predicted.toFixed(1)} ${r.unit}, measured ${r.measured.toFixed(1)} (${errorPct(r)})`);
  return { rows, sockets };
}

const errorPct = (r: { predicted: number; measured: number }) => `${r.measured === 0 ? '—' : `${(((r.predicted - r.measured) / r.measured) * 100).toFixed(0)} %`}`;

function figuresOf(units: UnitCosts, check: Check, plan: CapacityPlan): Figure[] {
  const cpu = (c: CpuMs) => PARTS.map((p) => `${p} ${c[p].toFixed(3)}`).join(', ');
  const worst = Math.max(...check.rows.map((r) => Math.abs((r.predicted - r.measured) / (r.measured || 1))));
  return [
    {
      figure: '13. Unit costs',
      setup:
        `private PostgreSQL (pg_stat_statements) and redis-server; Herald as api, gateway and worker processes; a ${plan.ingestChapters}-chapter upload; ` +
        `${plan.unit.saves} saves at ${plan.unit.savesPerS}/s on ${plan.unit.documents} documents with ${plan.unit.watchers} sockets each`,
      value: {
        amount: Math.round(units.socket.rssKiB * 10) / 10,
        unit: 'KiB/socket',
        note:
          `chapter: CPU ms ${cpu(units.chapter.cpuMs)}; ${units.chapter.redisCommands.toFixed(1)} Redis commands, ${Math.round(units.chapter.redisBytes)} B, ` +
          `${units.chapter.pgStatements.toFixed(2)} statements | save: CPU ms ${cpu(units.save.cpuMs)}; ${units.save.redisCommands.toFixed(1)} Redis commands, ` +
          `${Math.round(units.save.redisBytes)} B, ${units.save.pgStatements.toFixed(2)} statements, ${units.save.eventsPerWatcher.toFixed(2)} events per watcher | ` +
          `delivery: gateway ${units.delivery.gatewayCpuMs.toFixed(4)} ms | idle socket: gateway ${(units.socket.gatewayCpuMsPerS * 1000).toFixed(2)} µs/s, ` +
          `${(units.socket.redisCommandsPerS * 3600).toFixed(0)} Redis commands/h | queue keys ${(units.queueShare * 100).toFixed(0)} % of Redis commands`,
      },
      detail: { units, table: capacityTable(units, DEFAULT_ACTIVITY), activity: DEFAULT_ACTIVITY },
    },
    {
      figure: '14. Capacity model check',
      setup: `${check.sockets} sockets on ${plan.check.documents} documents (${plan.check.watchers} each), ${plan.check.saves} saves at ${plan.check.savesPerS}/s, predicted from the unit costs`,
      value: { amount: Math.round(worst * 100), unit: '% largest error', note: check.rows.map((r) => `${r.what} ${errorPct(r)}`).join(', ') },
      detail: { rows: check.rows },
    },
  ];
}
