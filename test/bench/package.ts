/**
 * Essential package latency: `POST /api/documents/:id/package` for a
 * 300-chapter manuscript (~150,000 words): answered from stored rows only,
 * with no worker (api role alone) and with every role in one process (the
 * full builds and the ingest running meanwhile). Sequential requests over
 * real HTTP; `GET /api/documents/:id` on the same document is the baseline.
 * Run with `npx tsx test/bench/package.ts [--quick]`.
 *
 * BENCH_BASELINE_ROOT=<another checkout, with node_modules> measures instead
 * the api role of this tree against that checkout's, both in this process on
 * documents of their own, in BENCH_PACKAGE_ROUNDS (default 10) rounds of
 * requests alternated between them (A B, B A, …).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import type { Role } from '../../server/config.ts';
import type { Herald } from '../../server/herald.ts';
import { postJson, removePrefix, startBenchHerald, withTimeout, type BenchContext } from './harness.ts';
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
  const baselineRoot = process.env.BENCH_BASELINE_ROOT;
  if (baselineRoot) return measureAgainst(ctx, baselineRoot, options, Number(process.env.BENCH_PACKAGE_ROUNDS ?? 10));
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

/** This tree's api role and the one at `root`, each on a document of its own, requests alternated by rounds. */
async function measureAgainst(ctx: BenchContext, root: string, options: PackageBenchOptions, rounds: number): Promise<Figure[]> {
  const token = await ctx.token('bench-owner');
  const content = JSON.stringify({ title: 'Package bench', content: novel(options.chapters, options.wordsPerChapter) });
  const env = { PACKAGE_LIMIT: '10000' };
  const own = await startBenchHerald(ctx, { roles: ['api'], prefix: ctx.scenarioPrefix('package-own'), env });
  const baseline = await startBaselineHerald(ctx, root, ctx.scenarioPrefix('package-baseline'), env);
  const sides = [{ name: 'this tree', herald: own }, { name: `baseline ${root}`, herald: baseline }].map((side) => ({ ...side, samples: [] as number[], url: '' }));
  for (const side of sides) {
    const { document } = await postJson<{ document: { id: string } }>(`${side.herald.url}/api/documents`, token, content);
    side.url = `${side.herald.url}/api/documents/${document.id}/package`;
    for (let i = 0; i < options.warmups; i++) await postJson(side.url, token, '');
  }
  const perRound = Math.max(1, Math.round(options.requests / rounds));
  for (let round = 0; round < rounds; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      for (let i = 0; i < perRound; i++) {
        const started = performance.now();
        const answer = await postJson<{ package: { stage: string; chapter_count: number } }>(side.url, token, '');
        side.samples.push(performance.now() - started);
        if (answer.package.stage !== 'essential' || answer.package.chapter_count !== options.chapters) throw new Error('unexpected package');
      }
    }
  }
  await Promise.all([own.close(), baseline.close()]);
  const [mine, theirs] = sides.map((side) => summarize(side.samples)) as [ReturnType<typeof summarize>, ReturnType<typeof summarize>];
  return sides.map((side, i): Figure => {
    const latency = i === 0 ? mine : theirs;
    const other = i === 0 ? theirs : mine;
    return {
      figure: '7. Essential package',
      setup: `POST /api/documents/:id/package, ${options.chapters} chapters; roles api, ${side.name}; ${rounds} rounds of ${perRound} sequential requests alternated with the other tree, after ${options.warmups} warm-up`,
      latency,
      goal: { text: `p99 < ${PACKAGE_GOAL_P99_MS} ms`, met: latency.p99 < PACKAGE_GOAL_P99_MS },
      baseline: { label: `${sides[1 - i]!.name} p50`, amount: other.p50, unit: 'ms', ratio: latency.p50 / other.p50 },
      detail: { samplesMs: side.samples },
    };
  });
}

/** The api role of the checkout at `root`, started from its own modules in this process. */
async function startBaselineHerald(ctx: BenchContext, root: string, prefix: string, env: Record<string, string>): Promise<Herald> {
  const load = (path: string) => import(pathToFileURL(join(root, path)).href);
  const [{ loadConfig }, { startHerald }] = await Promise.all([load('server/config.ts'), load('server/herald.ts')]);
  const config = loadConfig(ctx.heraldEnv(prefix, env));
  const herald: Herald = await withTimeout(startHerald({ config, roles: ['api'], logger: pino({ level: config.logLevel }) }), 30_000, `baseline Herald (${root}) to start`);
  ctx.onCleanup(() => herald.close());
  return herald;
}

if (isMain(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  runStandalone('package', (ctx) => benchPackage(ctx, { chapters: 300, wordsPerChapter: 500, requests: quick ? 20 : 100, warmups: 5 }));
}
