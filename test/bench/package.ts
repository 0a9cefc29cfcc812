/**
 * Essential package latency: `POST /api/documents/:id/package` for a
 * 300-chapter manuscript (~150,000 words): answered from stored rows only,
 * with no worker (api role alone) and with every role in one process (the
 * full builds and the ingest running meanwhile). Sequential requests over
 * real HTTP; `GET /api/documents/:id` on the same document is the baseline.
 * Run with `npx tsx test/bench/package.ts [--quick]`.
 */
import type { Role } from '../../server/config.ts';
import { postJson, removePrefix, startBenchHerald, type BenchContext } from './harness.ts';
import { novel } from './prose.ts';
import { isMain, runStandalone } from './standalone.ts';
import { summarize, type Figure } from './stats.ts';

export interface PackageBenchOptions {
  chapters: number;
  wordsPerChapter: number;
  requests: number;
  warmups: number;
}

export const PACKAGE_GOAL_P99_MS = 20;

export async function benchPackage(ctx: BenchContext, options: PackageBenchOptions): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const roles of [['api'], ['api', 'gateway', 'worker']] as Role[][]) figures.push(await measure(ctx, roles, options));
  return figures;
}

async function measure(ctx: BenchContext, roles: Role[], options: PackageBenchOptions): Promise<Figure> {
  const prefix = ctx.scenarioPrefix(`package-${roles.length}`);
  // The package limit is raised: this measures latency, and 105 requests from one user would pass PACKAGE_LIMIT.
  const herald = await startBenchHerald(ctx, { roles, prefix, env: { PACKAGE_LIMIT: '1000' } });
  try {
    const token = await ctx.token('bench-owner');
    const content = novel(options.chapters, options.wordsPerChapter);
    const { document } = await postJson<{ document: { id: string } }>(`${herald.url}/api/documents`, token, JSON.stringify({ title: 'Package bench', content }));
    const url = `${herald.url}/api/documents/${document.id}`;
    const samples: number[] = [];
    const baseline: number[] = [];
    let characters = 0;
    let coldMs = 0;
    for (let i = 0; i < options.warmups + options.requests; i++) {
      const started = performance.now();
      const answer = await postJson<{ package: { stage: string; chapter_count: number; characters: unknown[] } }>(`${url}/package`, token, '');
      const elapsed = performance.now() - started;
      if (answer.package.stage !== 'essential' || answer.package.chapter_count !== options.chapters) throw new Error('unexpected package');
      characters = answer.package.characters.length;
      if (i === 0) coldMs = elapsed; // digests every chapter: the first request after an upload
      const t = performance.now();
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      await res.arrayBuffer();
      if (i >= options.warmups) {
        samples.push(elapsed);
        baseline.push(performance.now() - t);
      }
    }
    const latency = summarize(samples);
    return {
      figure: '7. Essential package',
      setup: `POST /api/documents/:id/package, ${options.chapters} chapters, ~${Math.round((options.chapters * options.wordsPerChapter) / 1000)}k words, ${options.requests} sequential requests after ${options.warmups} warm-up; roles ${roles.join('+')}`,
      latency,
      value: { amount: coldMs, unit: 'ms', note: 'first request (digests all chapters)' },
      goal: { text: `p99 < ${PACKAGE_GOAL_P99_MS} ms`, met: latency.p99 < PACKAGE_GOAL_P99_MS },
      baseline: { label: 'GET document p99', amount: summarize(baseline).p99, unit: 'ms', ratio: latency.p99 / summarize(baseline).p99 },
      detail: { characters, firstRequestMs: coldMs, samplesMs: samples },
    };
  } finally {
    await herald.close();
    await removePrefix(prefix);
  }
}

if (isMain(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  runStandalone('package', (ctx) => benchPackage(ctx, { chapters: 300, wordsPerChapter: 500, requests: quick ? 20 : 100, warmups: 5 }));
}
