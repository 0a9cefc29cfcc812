/**
 * The stage every drill shares: a private PostgreSQL cluster and AOF Redis,
 * Herald as api + two gateways + two workers (child processes), and a
 * steady load. `run` applies the drill's fault mid-ingest, waits for the
 * system to settle and returns the verdict; everything is torn down after,
 * even on failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createDeployment, type Deployment, type RoleProcess } from './deployment.ts';
import { Cluster } from 'ioredis';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.ts';
import { startAofRedis, startPrivateCluster, type AofRedis, type PrivateCluster } from './infra.ts';
import { startLoad, type Load, type LoadPlan } from './load.ts';
import { verify, type Verdict } from './verify.ts';

/** What a drill's fault step can touch. */
export interface Stage {
  cluster: PrivateCluster;
  redis: AofRedis;
  /** The Redis Cluster the deployment runs on instead, for a drill that asks for one (`redisCluster`). */
  redisCluster: RedisCluster | undefined;
  deployment: Deployment;
  api: RoleProcess;
  gateways: RoleProcess[];
  workers: RoleProcess[];
  load: Load;
  tmp: string;
  quick: boolean;
  note(line: string): void;
  /**
   * Records that the fault did not hit what it aims at (no job on the killed
   * worker, no socket on the killed gateway): the drill then proved nothing
   * and fails, rather than passing on a system that was never disturbed.
   */
  missed(why: string): void;
  /** Resolves once at least `n` chapters are being processed right now (the fault then lands mid-ingest). */
  ingestUnderway(n?: number): Promise<void>;
}

export interface DrillSpec {
  name: string;
  what: string;
  /** Extra env for every Herald process. */
  env?: Record<string, string>;
  /** Runs the deployment on a Redis Cluster (3 masters, a replica each, 2 s node timeout) instead of one Redis. */
  redisCluster?: boolean;
  /** Extra env or node args for the worker processes (by index). */
  worker?: (i: number, tmp: string, quick: boolean) => { env?: Record<string, string>; nodeArgs?: string[] };
  load?: (quick: boolean) => Partial<Omit<LoadPlan, 'apiUrl' | 'gatewayUrls' | 'token'>>;
  /** How long the system may take to settle after the fault. */
  settleMs?: number;
  fault(stage: Stage): Promise<void>;
  /** Extra checks after the common ones. */
  check?(stage: Stage, verdict: Verdict): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An error's message with its cause (fetch's "fetch failed" hides the socket error there). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

/**
 * The workers' JOB_LOCK_MS: BullMQ's default in full runs; shorter with
 * --quick (as is JOB_RECONCILE_INTERVAL_MS), so a dead worker's jobs and
 * job rows come back sooner.
 */
export const jobLockMs = (quick: boolean) => (quick ? 10_000 : 30_000);

/** Clean-up steps of the drill in progress, for `emergencyCleanup` (a timed-out drill, Ctrl-C). */
const pending = new Set<() => Promise<unknown> | unknown>();

/** Runs the clean-up of a drill that never got to its own (deadline, signal): no cluster, server or temp dir is left behind. */
export async function emergencyCleanup(): Promise<void> {
  for (const step of [...pending].reverse()) {
    pending.delete(step);
    await Promise.resolve().then(step).catch(() => {});
  }
}

export async function runDrill(spec: DrillSpec, quick: boolean, notes: string[] = []): Promise<Verdict & { notes: string[] }> {
  const missed: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), `herald-drill-${spec.name}-`));
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  const onCleanup = (step: () => Promise<unknown> | unknown) => {
    cleanup.push(step);
    pending.add(step);
  };
  onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  try {
    const cluster = await startPrivateCluster();
    onCleanup(() => cluster.destroy());
    const redis = await startAofRedis();
    onCleanup(() => redis.destroy());
    const redisCluster = spec.redisCluster ? await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 2000 }) : undefined;
    if (redisCluster) onCleanup(() => redisCluster.stop());
    const deployment = createDeployment({
      databaseUrl: cluster.url.replace(/\/postgres$/, '/herald'),
      redisUrl: redis.url,
      env: { ...(redisCluster && { REDIS_CLUSTER_NODES: redisCluster.nodes }), AI_SIMULATED_LATENCY_MS: '600', WORKER_CONCURRENCY: '4', RETRY_BACKOFF_MS: '200', JOB_LOCK_MS: String(jobLockMs(quick)), ...(quick && { JOB_RECONCILE_INTERVAL_MS: '10000' }), ...spec.env },
    });
    onCleanup(() => deployment.stopAll());
    // The api first: it creates the database and applies the migrations.
    const api = await deployment.start('api', 'api');
    const gateways = await Promise.all([deployment.start('gateway', 'gateway-1'), deployment.start('gateway', 'gateway-2')]);
    const workers = await Promise.all([0, 1].map((i) => deployment.start('worker', `worker-${i + 1}`, spec.worker?.(i, tmp, quick))));
    const plan: LoadPlan = {
      apiUrl: api.url,
      gatewayUrls: () => gateways.map((g) => g.url),
      token: await deployment.token('drill-author'),
      uploads: quick ? 4 : 8,
      uploadEveryMs: 1500,
      // At least 32 chapters: uploads are processed in runs of 2 (CHAPTERS_PER_JOB), so every fault also lands on runs.
      chaptersPerUpload: quick ? 32 : 48,
      editors: quick ? 6 : 12,
      saveEveryMs: 200,
      watchers: quick ? 4 : 8,
      ...spec.load?.(quick),
    };
    const load = startLoad(plan);
    onCleanup(() => load.close());
    const databaseUrl = deployment.env.DATABASE_URL!;
    const stage: Stage = {
      cluster, redis, redisCluster, deployment, api, gateways, workers, load, tmp, quick,
      note: (line) => notes.push(line),
      missed: (why) => missed.push(`the fault missed: ${why}`),
      async ingestUnderway(n = 6) {
        // BullMQ's list of running chapter jobs (both workers run some once there are enough).
        const redis = redisCluster
          ? new Cluster(redisCluster.ports.map((port) => ({ host: '127.0.0.1', port })), { redisOptions: { maxRetriesPerRequest: 1 } })
          : new Redis(stage.redis.url, { maxRetriesPerRequest: 1 });
        const active = redisCluster ? '{herald}:chapters:active' : 'herald:chapters:active';
        try {
          for (let i = 0; i < 600; i++) {
            // After the second upload, so the fault hits chapters no editor touches (they complete through ingest alone).
            if (load.acceptedDocuments.length >= 2 && (await redis.llen(active)) >= n) return;
            await sleep(100);
          }
          const refused = load.refusedUploads.length > 0 ? `; refused: ${load.refusedUploads.join(' | ')}` : '';
          throw new Error(`ingest never got under way (60 s): ${load.acceptedDocuments.length} upload(s) accepted, ${await redis.llen(active)} chapter job(s) running${refused}`);
        } finally {
          redis.disconnect();
        }
      },
    };
    await spec.fault(stage);
    await load.uploadsDone;
    await sleep(2000);
    await load.stopEditing();
    const verdict = await verify(databaseUrl, load, deployment, spec.settleMs ?? 120_000);
    try {
      await spec.check?.(stage, verdict);
    } catch (error) {
      // Keep what verify found (a process that exited says why, with its stderr) beside the check's failure.
      verdict.losses.push(`the drill's own check failed: ${describeError(error)}`);
    }
    verdict.losses.push(...missed);
    return { ...verdict, notes };
  } finally {
    for (const step of cleanup.reverse()) {
      if (!pending.delete(step)) continue;
      try {
        await step();
      } catch (error) {
        console.error(`drill ${spec.name}: clean-up step failed: ${(error as Error).message}`);
      }
    }
  }
}
