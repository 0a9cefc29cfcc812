/**
 * Preloaded into one worker by the stall drill (`node --import <this>`):
 * when the file named by DRILL_BLOCK_FILE appears, it is removed and the
 * event loop is blocked (busy-wait) for DRILL_BLOCK_MS, longer than
 * BullMQ's job lock, so the worker's running jobs are declared stalled and
 * run again elsewhere while this run is frozen, then finishes late.
 */
import { existsSync, rmSync } from 'node:fs';

const file = process.env.DRILL_BLOCK_FILE;
const ms = Number(process.env.DRILL_BLOCK_MS ?? 0);
if (file && ms > 0) {
  const timer = setInterval(() => {
    if (!existsSync(file)) return;
    rmSync(file, { force: true });
    clearInterval(timer);
    const end = Date.now() + ms;
    while (Date.now() < end) {
      // Busy-wait on purpose: nothing else in this process runs, lock renewals included.
    }
  }, 50);
  timer.unref();
}
