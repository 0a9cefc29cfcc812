/**
 * Runs one bench file on its own (`npx tsx test/bench/<name>.ts`): a bench
 * context of its own, the figures printed as the usual table, clean-up
 * always. The bench files also export their function for a combined runner.
 */
import { pathToFileURL } from 'node:url';
import { createBenchContext, type BenchContext } from './harness.ts';
import { formatTable, type Figure } from './stats.ts';

/** Whether `moduleUrl` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
}

export function runStandalone(name: string, bench: (ctx: BenchContext) => Promise<Figure[]>): void {
  const run = async () => {
    const ctx = await createBenchContext();
    console.error(`bench ${name}: database ${ctx.databaseName}, redis prefix ${ctx.prefix}-*`);
    // Ctrl-C or a kill still removes the database and the keys.
    const interrupted = new Promise<never>((_, reject) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => reject(new Error(`interrupted (${signal})`)));
    });
    try {
      console.log(formatTable(await Promise.race([bench(ctx), interrupted])));
    } finally {
      await ctx.cleanup();
    }
  };
  run().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`bench ${name}: FAILED: ${error instanceof Error ? error.stack : String(error)}`);
      process.exit(1);
    },
  );
}

/** Waits `ms` (pacing a simulated user, not waiting for a condition). */
export const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
