/**
 * Preloaded into a Herald process by the event-loop bench (`node --import
 * <this>`): measures the process's event-loop delay with perf_hooks at 1 ms
 * resolution and answers over the IPC channel: `loop:reset` clears the
 * histogram, `loop:read` sends back `{ maxMs, p99Ms, meanMs, maxTurnCpuMs }`:
 * the longest delay since, its 99th percentile and mean, and the most CPU
 * time the main thread spent between two ticks of a 1 ms timer.
 *
 * The delay is wall-clock time: on a busy machine it includes the time the
 * process waited for a core. `maxTurnCpuMs` (Linux: the thread's on-CPU time
 * from /proc/thread-self/schedstat) is the longest synchronous step as it
 * would block an idle core, whatever else runs on the machine.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

if (process.send) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const turnCpu = createTurnCpuMonitor();
  process.on('message', (message) => {
    if (message === 'loop:reset') {
      histogram.reset();
      turnCpu.reset();
      process.send!({ reset: true });
    } else if (message === 'loop:read') {
      process.send!({ maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, meanMs: histogram.mean / 1e6, maxTurnCpuMs: turnCpu.maxMs() });
    }
  });
}

/** The main thread's most CPU between two ticks of a 1 ms timer (NaN where /proc is missing). */
function createTurnCpuMonitor() {
  const path = '/proc/thread-self/schedstat';
  const cpuNs = () => Number(readFileSync(path, 'latin1').split(' ')[0]);
  try {
    cpuNs();
  } catch {
    return { reset() {}, maxMs: () => Number.NaN };
  }
  let last = cpuNs();
  let max = 0;
  setInterval(() => {
    const now = cpuNs();
    max = Math.max(max, now - last);
    last = cpuNs();
  }, 1).unref();
  return {
    reset() {
      max = 0;
      last = cpuNs();
    },
    maxMs: () => max / 1e6,
  };
}
