/**
 * `npm run drill [-- --quick] [--only=a,b]`: runs each fault drill on its own
 * private PostgreSQL cluster and redis-server with Herald in split roles under
 * load, prints what was accepted, what completed, what clients saw and the
 * verdict. Exits non-zero when any drill finds loss (or cannot run); never
 * on speed.
 */
import { DRILLS } from './drills.ts';
import { describeError, emergencyCleanup, runDrill } from './scene.ts';

const quick = process.argv.includes('--quick');
/** One drill, set-up and clean-up included, must end within this. */
const DRILL_DEADLINE_MS = 6 * 60_000;

function selected() {
  const only = process.argv.find((a) => a.startsWith('--only='));
  if (!only) return DRILLS;
  const names = only.slice('--only='.length).split(',').filter(Boolean);
  const bad = names.filter((n) => !DRILLS.some((d) => d.name === n));
  if (bad.length > 0 || names.length === 0) throw new Error(`--only: unknown drill ${bad.join(', ') || '(empty)'}; use ${DRILLS.map((d) => d.name).join(', ')}`);
  return DRILLS.filter((d) => names.includes(d.name));
}

async function main(): Promise<number> {
  const failed: string[] = [];
  const started = performance.now();
  for (const drill of selected()) {
    const t = performance.now();
    console.log(`\n=== drill ${drill.name}: ${drill.what} (${quick ? 'quick' : 'full'})`);
    let timer: NodeJS.Timeout | undefined;
    // The drill's notes so far, printed with a failure too: how far it got.
    const notes: string[] = [];
    try {
      const result = await Promise.race([
        runDrill(drill, quick, notes),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`did not finish within ${DRILL_DEADLINE_MS / 60_000} min`)), DRILL_DEADLINE_MS))),
      ]);
      for (const n of result.notes) console.log(`  fault: ${n}`);
      for (const l of result.lines) console.log(`  ${l}`);
      const secs = ((performance.now() - t) / 1000).toFixed(0);
      if (result.losses.length === 0) {
        console.log(`  VERDICT ${drill.name}: PASS — every accepted document completed, every accepted save stored exactly once, every client current and gap-free, no manual fix (${secs} s)`);
      } else {
        failed.push(drill.name);
        for (const loss of result.losses) console.log(`  LOSS: ${loss}`);
        console.log(`  VERDICT ${drill.name}: FAIL — ${result.losses.length} finding(s) (${secs} s)`);
      }
    } catch (error) {
      await emergencyCleanup();
      failed.push(drill.name);
      for (const n of notes) console.log(`  fault: ${n}`);
      console.log(`  VERDICT ${drill.name}: FAIL — the drill could not run: ${describeError(error)}`);
      if (error instanceof Error && error.stack) console.log(error.stack.split('\n').slice(1, 6).join('\n'));
    } finally {
      clearTimeout(timer);
    }
  }
  console.log(`\ndrills: ${selected().length - failed.length} passed, ${failed.length} failed${failed.length ? ` (${failed.join(', ')})` : ''} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return failed.length === 0 ? 0 : 1;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`drill: ${signal}: cleaning up`);
    void emergencyCleanup().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`drill: FAILED: ${(error as Error).message}`);
    process.exit(1);
  },
);
