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
import postgres from 'postgres';
import { createDeployment, type Deployment, type RoleProcess } from './deployment.ts';
import { startAofRedis, startPrivateCluster, type AofRedis, type PrivateCluster } from './infra.ts';
import { startLoad, type Load, type LoadPlan } from './load.ts';
import { verify, type Verdict } from './verify.ts';

/** What a drill's fault step can touch. */
export interface Stage {
  cluster: PrivateCluster;
  redis: AofRedis;
  deployment: Deployment;
  api: RoleProcess;
  gateways: RoleProcess[];
  workers: RoleProcess[];
  load: Load;
  tmp: string;
  quick: boolean;
  note(line: string): void;
  /** Resolves once at least `n` chapters are processing or done (the fault then lands mid-ingest). */
  ingestUnderway(n?: number): Promise<void>;
}

export interface DrillSpec {
  name: string;
  what: string;
  /** Extra env for every Herald process. */
  env?: Record<string, string>;
  /** Extra env or node args for the worker processes (by index). */
  worker?: (i: number, tmp: string) => { env?: Record<string, string>; nodeArgs?: string[] };
  load?: (quick: boolean) => Partial<Omit<LoadPlan, 'apiUrl' | 'gatewayUrls' | 'token'>>;
  /** How long the system may take to settle after the fault. */
  settleMs?: number;
  fault(stage: Stage): Promise<void>;
  /** Extra checks after the common ones. */
  check?(stage: Stage, verdict: Verdict): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDrill(spec: DrillSpec, quick: boolean): Promise<Verdict & { notes: string[] }> {
  const notes: string[] = [];
  const tmp = mkdtempSync(join(tmpdir(), `herald-drill-${spec.name}-`));
  const cleanup: (() => Promise<unknown> | unknown)[] = [() => rmSync(tmp, { recursive: true, force: true })];
  try {
    const cluster = await startPrivateCluster();
    cleanup.push(() => cluster.destroy());
    const redis = await startAofRedis();
    cleanup.push(() => redis.destroy());
    const deployment = createDeployment({
      databaseUrl: cluster.url.replace(/\/postgres$/, '/herald'),
      redisUrl: redis.url,
      env: { AI_SIMULATED_LATENCY_MS: '150', WORKER_CONCURRENCY: '4', RETRY_BACKOFF_MS: '200', ...spec.env },
    });
    cleanup.push(() => deployment.stopAll());
    // The api first: it creates the database and applies the migrations.
    const api = await deployment.start('api', 'api');
    const gateways = await Promise.all([deployment.start('gateway', 'gateway-1'), deployment.start('gateway', 'gateway-2')]);
    const workers = await Promise.all([0, 1].map((i) => deployment.start('worker', `worker-${i + 1}`, spec.worker?.(i, tmp))));
    const plan: LoadPlan = {
      apiUrl: api.url,
      gatewayUrls: () => gateways.map((g) => g.url),
      token: await deployment.token('drill-author'),
      uploads: quick ? 4 : 8,
      uploadEveryMs: 1500,
      chaptersPerUpload: quick ? 20 : 40,
      editors: quick ? 6 : 12,
      saveEveryMs: 200,
      watchers: quick ? 4 : 8,
      ...spec.load?.(quick),
    };
    const load = startLoad(plan);
    cleanup.push(() => load.close());
    const databaseUrl = deployment.env.DATABASE_URL!;
    const stage: Stage = {
      cluster, redis, deployment, api, gateways, workers, load, tmp, quick,
      note: (line) => notes.push(line),
      async ingestUnderway(n = 10) {
        const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
        try {
          for (let i = 0; i < 600; i++) {
            const [row] = await sql<{ n: number }[]>`select count(*)::int as n from chapter_results where status in ('processing', 'completed')`;
            if (row!.n >= n) return;
            await sleep(100);
          }
          throw new Error('ingest never got under way (60 s)');
        } finally {
          await sql.end({ timeout: 2 });
        }
      },
    };
    await spec.fault(stage);
    await load.uploadsDone;
    await sleep(2000);
    await load.stopEditing();
    const verdict = await verify(databaseUrl, load, deployment, spec.settleMs ?? 120_000);
    await spec.check?.(stage, verdict);
    return { ...verdict, notes };
  } finally {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch (error) {
        console.error(`drill ${spec.name}: clean-up step failed: ${(error as Error).message}`);
      }
    }
  }
}
