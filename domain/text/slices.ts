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

/** Runs `work` in slices of about `sliceMs`, with a turn of the event loop between them. */
export async function runInSlices<T>(work: Sliced<T>, sliceMs = SLICE_MS): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await nextTurn();
      sliceStart = performance.now();
    }
  }
}
