/**
 * Save → `chapter.updated` through a transaction-mode PgBouncer against a
 * direct PostgreSQL connection, in one run: two Heralds (api + gateway in
 * this process) on the bench database, one with `DATABASE_URL` at a private
 * PgBouncer and `DATABASE_DIRECT_URL` direct, one direct only. Rounds
 * alternate between them. Each save is timed from the request to its event
 * on a watching socket; every event is also checked for a duplicate (the
 * same version or seq twice).
 */
import { startPgBouncer } from '../support/pgbouncer.ts';
import { startBenchHerald, type BenchContext } from './harness.ts';
import { countDuplicates, timeSaves, watchChapter, type WatchedChapter } from './save-push.ts';
import { median, summarize, type Figure } from './stats.ts';

export interface PoolerBenchOptions {
  rounds: number;
  savesPerRound: number;
  /** Pause between saves, so each save's event is timed alone. */
  gapMs: number;
}

export const POOLER_GOAL_RATIO = 1.2;


export async function benchPooler(ctx: BenchContext, options: PoolerBenchOptions): Promise<Figure[]> {
  const bouncer = await startPgBouncer();
  ctx.onCleanup(() => bouncer.stop());
  const targets: WatchedChapter[] = [];
  try {
    for (const name of ['direct', 'pgbouncer'] as const) {
      const env: Record<string, string> = name === 'pgbouncer' ? { DATABASE_URL: bouncer.urlFor(ctx.databaseUrl), DATABASE_DIRECT_URL: ctx.databaseUrl } : {};
      const herald = await startBenchHerald(ctx, { roles: ['api', 'gateway'], prefix: ctx.scenarioPrefix(`pooler-${name}`), env });
      targets.push(await watchChapter(name, herald.url, await ctx.token(`pooler-${name}`)));
    }
    for (let round = 0; round < options.rounds; round++) {
      // Alternate which goes first, so neither always follows the other's leftovers.
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) await timeSaves(t, options.savesPerRound, options.gapMs);
    }
    const [direct, pooled] = targets as [WatchedChapter, WatchedChapter];
    const duplicates = targets.map((t) => ({ name: t.name, ...countDuplicates(t) }));
    const ratio = median(pooled.samples) / median(direct.samples);
    const pooledDuplicates = duplicates.find((d) => d.name === 'pgbouncer')!;
    return [
      {
        figure: '15. Save to push through PgBouncer',
        setup:
          `PATCH /api/chapters/:id → chapter.updated on a watching socket, ${options.rounds} alternated rounds of ${options.savesPerRound} saves per setup; ` +
          'api+gateway in the bench process; DATABASE_URL at a private PgBouncer (transaction mode) with DATABASE_DIRECT_URL for LISTEN and migrations, against a direct DATABASE_URL',
        latency: summarize(pooled.samples),
        goal: { text: `p50 ≤ ${POOLER_GOAL_RATIO}× direct, no duplicate event`, met: ratio <= POOLER_GOAL_RATIO && pooledDuplicates.versions + pooledDuplicates.seqs === 0 },
        baseline: { label: 'direct p50', amount: median(direct.samples), unit: 'ms', ratio },
        detail: { direct: summarize(direct.samples), duplicates },
      },
    ];
  } finally {
    for (const t of targets) t.client.close();
  }
}

