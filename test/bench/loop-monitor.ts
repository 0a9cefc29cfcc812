/**
 * Preloaded into a Herald process by the event-loop bench (`node --import
 * <this>`): measures the process's event-loop delay with perf_hooks at 1 ms
 * resolution and answers over the IPC channel: `loop:reset` clears the
 * histogram, `loop:read` sends back `{ maxMs, p99Ms, meanMs }`: the longest
 * delay since, its 99th percentile and mean.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

if (process.send) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  process.on('message', (message) => {
    if (message === 'loop:reset') {
      histogram.reset();
      process.send!({ reset: true });
    } else if (message === 'loop:read') {
      process.send!({ maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, meanMs: histogram.mean / 1e6 });
    }
  });
}
