/**
 * Figure 1: `POST /api/documents` latency for a 300-chapter, ~150,000-word
 * manuscript, with only the api role, then with every role (workers busy
 * with the uploads in the same process). Sequential uploads over real HTTP.
 */
import type { Role } from '../../server/config.ts';
import { postJson, startBenchHerald, removePrefix, type BenchContext } from './harness.ts';
import { novel } from './prose.ts';
import { summarize, type Figure, type Latency } from './stats.ts';

export interface UploadBenchOptions {
  uploads: number;
  warmups: number;
  chapters: number;
  wordsPerChapter: number;
}

export const UPLOAD_GOAL_P95_MS = 50;
const WORKER_CONCURRENCY = 32;

export async function benchUpload(ctx: BenchContext, options: UploadBenchOptions): Promise<Figure[]> {
  const content = novel(options.chapters, options.wordsPerChapter);
  const body = JSON.stringify({ title: 'The Harbour Ledger', content });
  const shape = `${options.chapters} chapters, ~${Math.round((options.chapters * options.wordsPerChapter) / 1000)}k words, ${(body.length / 1e6).toFixed(2)} MB JSON`;
  const runs = `${options.uploads} sequential uploads after ${options.warmups} warm-up`;

  const apiOnly = await measureUploads(ctx, ['api'], 'upload-api', body, options);
  const allRoles = await measureUploads(ctx, ['api', 'gateway', 'worker'], 'upload-all', body, options);

  const goal = (l: Latency) => ({ text: `p95 < ${UPLOAD_GOAL_P95_MS} ms`, met: l.p95 < UPLOAD_GOAL_P95_MS });
  return [
    {
      figure: '1. Upload latency',
      setup: `POST /api/documents (JSON), ${shape}; roles api only (Herald in the bench process); ${runs}`,
      latency: apiOnly.latency,
      value: { amount: apiOnly.latency.mean, unit: 'ms', note: 'mean' },
      goal: goal(apiOnly.latency),
      detail: { samplesMs: apiOnly.samples, bodyBytes: body.length },
    },
    {
      figure: '1. Upload latency',
      setup: `same, roles api+gateway+worker in one process (WORKER_CONCURRENCY=${WORKER_CONCURRENCY}), workers processing earlier uploads meanwhile`,
      latency: allRoles.latency,
      value: { amount: allRoles.latency.mean, unit: 'ms', note: 'mean' },
      goal: goal(allRoles.latency),
      baseline: { label: 'api-only p95', amount: apiOnly.latency.p95, unit: 'ms', ratio: allRoles.latency.p95 / apiOnly.latency.p95 },
      detail: { samplesMs: allRoles.samples },
    },
  ];
}

async function measureUploads(ctx: BenchContext, roles: Role[], scenario: string, body: string, options: UploadBenchOptions) {
  const prefix = ctx.scenarioPrefix(scenario);
  const herald = await startBenchHerald(ctx, { roles, prefix, env: { WORKER_CONCURRENCY: String(WORKER_CONCURRENCY) } });
  // A user of the scenario's own: its uploads (never ingested without a worker) count against the per-user quota of
  // uploads in flight, which the groups after this one must not inherit.
  const token = await ctx.token(`bench-uploader-${scenario}`);
  const url = `${herald.url}/api/documents`;
  const samples: number[] = [];
  try {
    for (let i = 0; i < options.warmups + options.uploads; i++) {
      const started = performance.now();
      const answer = await postJson<{ chapters: unknown[] }>(url, token, body);
      const elapsed = performance.now() - started;
      if (answer.chapters.length !== options.chapters) {
        throw new Error(`upload split into ${answer.chapters.length} chapters, expected ${options.chapters}`);
      }
      if (i >= options.warmups) samples.push(elapsed);
    }
  } finally {
    await herald.close();
    await removePrefix(prefix);
  }
  return { latency: summarize(samples), samples };
}
