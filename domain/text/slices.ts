import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Text work that can pause. A function written as a generator `yield`s at
 * points where stopping is cheap (every few thousand lines or characters);
 * `runAll` runs it to the end at once (workers, tests), `runInSlices` hands
 * the event loop back whenever a slice has run for SLICE_MS, so that one
 * 10 MiB request cannot freeze the API for everyone else.
 */
export type Sliced<T> = Generator<void, T, undefined>;

/** Longest stretch `runInSlices` computes before letting other work run. */
export const SLICE_MS = 10;

/** Characters a sliced scan covers between two yields: well under a millisecond of work. */
export const SLICE_CHARS = 1 << 15;

/** Runs `work` to its end in one go. */
export function runAll<T>(work: Sliced<T>): T {
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
  }
}

/** When sliced work began in the running turn of the event loop; undefined until some does. */
let turnStartedAt: number | undefined;

/**
 * Milliseconds of sliced work in this turn of the event loop, shared by all
 * of it: a request's sliced steps run back to back (the body read, its parse,
 * the split), and each starting a budget of its own would add their slices
 * up in one turn. The clock starts at the first call in a turn and stops in
 * the loop's next timers phase: a turn here is what runs between two timer
 * ticks (an immediate and the I/O callbacks before it are one turn).
 */
export function turnElapsedMs(): number {
  const now = performance.now();
  if (turnStartedAt === undefined) {
    turnStartedAt = now;
    setTimeout(endTurn, 0).unref();
  }
  return now - turnStartedAt;
}

function endTurn(): void {
  turnStartedAt = undefined;
}

/** Runs `work` in slices of about `sliceMs` (of this turn's sliced work), with a turn of the event loop between them. */
export async function runInSlices<T>(work: Sliced<T>, sliceMs = SLICE_MS): Promise<T> {
  turnElapsedMs();
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
    if (turnElapsedMs() >= sliceMs) {
      await nextTurn();
      turnElapsedMs();
    }
  }
}
