/**
 * Herald on a private 3-master Redis Cluster against the single Redis, in
 * one run with alternated rounds: ingest throughput with one worker process
 * (the ingest group's runner) and save → `chapter.updated` on a watching
 * socket (api + gateway in this process). Goal: the cluster within 1.2× of
 * the single Redis on both.
 */
import { startRedisCluster } from '../support/redis-cluster.ts';
import { startBenchHerald, type BenchContext } from './harness.ts';
import { measureIngest, type IngestBenchOptions, type IngestSetup } from './ingest.ts';
import { novel } from './prose.ts';
import { countDuplicates, timeSaves, watchChapter, type WatchedChapter } from './save-push.ts';
import { median, summarize, type Figure } from './stats.ts';

export interface ClusterBenchOptions extends IngestBenchOptions {
  savesPerRound: number;
}

export const CLUSTER_GOAL_RATIO = 1.2;

export async function benchCluster(ctx: BenchContext, options: ClusterBenchOptions): Promise<Figure[]> {
  const cluster = await startRedisCluster({ masters: 3 });
  ctx.onCleanup(() => cluster.stop());
  const onCluster = { REDIS_CLUSTER_NODES: cluster.nodes };

  const setups: IngestSetup[] = [
    { scenario: 'cluster-single', label: 'single Redis: api+gateway in the bench process, 1 worker process', workerProcesses: 1 },
    { scenario: 'cluster-3', label: '3-master Redis Cluster: api+gateway in the bench process, 1 worker process', workerProcesses: 1, env: onCluster },
  ];
  const body = JSON.stringify({ title: 'The Harbour Ledger', content: novel(options.chapters, options.wordsPerChapter, 7) });
  const [single, sharded] = await measureIngest(ctx, setups, body, options);

  const watched: WatchedChapter[] = [];
  try {
    for (const [name, env] of [['single', {}], ['cluster', onCluster]] as const) {
      const herald = await startBenchHerald(ctx, { roles: ['api', 'gateway'], prefix: ctx.scenarioPrefix(`cluster-push-${name}`), env });
      watched.push(await watchChapter(name, herald.url, await ctx.token(`cluster-${name}`)));
    }
    for (let round = 0; round < options.repeats; round++) {
      for (const t of round % 2 === 0 ? watched : [...watched].reverse()) await timeSaves(t, options.savesPerRound, 100);
    }
  } finally {
    for (const t of watched) t.client.close();
  }
  const [direct, onShards] = watched as [WatchedChapter, WatchedChapter];
  const rate = { single: median(single!.rates), cluster: median(sharded!.rates) };
  const ingestRatio = rate.single / rate.cluster;
  const pushRatio = median(onShards.samples) / median(direct.samples);
  const duplicates = countDuplicates(onShards);
  return [
    {
      figure: '16. Ingest on Redis Cluster',
      setup: `${options.chapters} chapters, builtin AI, 1 worker process (WORKER_CONCURRENCY=${options.concurrency}); a private 3-master cluster against the single Redis, ${options.repeats} alternated runs each`,
      value: { amount: Math.round(rate.cluster), unit: 'chapters/s', note: `worker CPU ${(median(sharded!.cpuSecondsPerChapter) * 1000).toFixed(2)} ms/chapter` },
      goal: { text: `within ${CLUSTER_GOAL_RATIO}× of the single Redis`, met: ingestRatio <= CLUSTER_GOAL_RATIO },
      baseline: { label: 'single Redis', amount: Math.round(rate.single), unit: 'chapters/s', ratio: ingestRatio },
    },
    {
      figure: '17. Save to push on Redis Cluster',
      setup: `PATCH /api/chapters/:id → chapter.updated on a watching socket (sharded pub/sub), ${options.repeats} alternated rounds of ${options.savesPerRound} saves; against the single Redis`,
      latency: summarize(onShards.samples),
      goal: { text: `p50 within ${CLUSTER_GOAL_RATIO}× of the single Redis, no duplicate`, met: pushRatio <= CLUSTER_GOAL_RATIO && duplicates.versions + duplicates.seqs === 0 },
      baseline: { label: 'single Redis p50', amount: median(direct.samples), unit: 'ms', ratio: pushRatio },
      detail: { single: summarize(direct.samples), duplicates },
    },
  ];
}
