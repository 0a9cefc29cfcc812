import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes, routePath } from 'hono/route';
import type { QueueCounts } from '../jobs/job-control.ts';

/** What the scrape-time gauges read from the running parts (each optional: a process runs only its roles). */
export interface MetricSources {
  queueCounts?: () => Promise<QueueCounts[]>;
  sockets?: () => number;
  subscriptions?: () => number;
  /** Another process's metrics folded into this one's scrape (the worker child `npm start` supervises). */
  more?: () => Promise<MetricsSnapshot>;
}

/** A registry's metrics as JSON, the form prom-client aggregates across processes. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * One Prometheus registry per process, made by the composition root and
 * handed to the parts as hooks: job outcomes and durations (job tracker),
 * events published (publisher), push latency (gateway), HTTP durations (app).
 * `sources` are fixed here: the scrape-time gauges read them, nothing sets them later.
 */
export function createMetrics(sources: Readonly<MetricSources> = {}) {
  const registry = new Registry();
  // The event-loop lag histogram samples every 50 ms, not prom-client's default 10 ms: at 10 ms its timer alone cost an
  // idle process about 1 % of a core (a quarter at 50 ms), and a block of 50 ms or more, the bound Herald keeps to
  // (docs/performance.md), still always meets a sample.
  collectDefaultMetrics({ register: registry, prefix: 'herald_process_', eventLoopMonitoringPrecision: 50 });
  const { jobsFinished, jobDuration, eventsPublished, writerWaits, storeWaits, notificationsSent, pushLatency, httpDuration, rateLimitsSkipped } = defineCounters(registry);
  defineGauges(registry, sources);

  return {
    registry,
    /**
     * The scrape: this registry's metrics, plus those of `sources.more` when
     * set, summed per series (prom-client's AggregatorRegistry, as for
     * cluster workers), so one scrape of `npm start` covers its worker child.
     */
    async scrape(): Promise<{ text: string; contentType: string }> {
      if (!sources.more) return { text: await registry.metrics(), contentType: registry.contentType };
      const [own, other] = await Promise.all([registry.getMetricsAsJSON(), sources.more().catch(() => [])]);
      const merged = AggregatorRegistry.aggregate([own, other] as MetricsSnapshot[]);
      return { text: await merged.metrics(), contentType: merged.contentType };
    },
    jobFinished(type: string, outcome: string, seconds: number | null) {
      jobsFinished.inc({ type, outcome });
      if (seconds !== null) jobDuration.observe({ type }, seconds);
    },
    published: (event: string) => eventsPublished.inc({ event }),
    notificationPushed: (kind: string) => notificationsSent.inc({ kind }),
    writerWaited: (writer: 'results' | 'jobs') => writerWaits.inc({ writer }),
    jobWaitedForStore: (type: string) => storeWaits.inc({ type }),
    rateLimitSkipped: (limit: string) => rateLimitsSkipped.inc({ limit }),
    delivered(event: string, at: string | undefined) {
      const sent = at ? Date.parse(at) : NaN;
      if (!Number.isNaN(sent)) pushLatency.observe({ event }, Math.max(0, Date.now() - sent) / 1000);
    },
    /** Hono middleware: request durations labelled with the matched route pattern (not the raw path, so ids do not explode the series). */
    httpMiddleware(): MiddlewareHandler {
      return async (c, next) => {
        const started = performance.now();
        try {
          await next();
        } finally {
          const route = c.res.status === 404 && !c.req.routePath ? 'unmatched' : endpointPath(c);
          httpDuration.observe({ method: c.req.method, route, status: String(c.res.status) }, (performance.now() - started) / 1000);
        }
      };
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What the parts report as it happens: counters and histograms. */
function defineCounters(registry: Registry) {
  const jobsFinished = new Counter({ name: 'herald_jobs_finished_total', help: 'Jobs that ended, by type and outcome', labelNames: ['type', 'outcome'], registers: [registry] });
  const jobDuration = new Histogram({
    name: 'herald_job_duration_seconds', help: 'Time from a job starting to its end, by type', labelNames: ['type'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [registry],
  });
  const eventsPublished = new Counter({ name: 'herald_events_published_total', help: 'Document events published, by name', labelNames: ['event'], registers: [registry] });
  const writerWaits = new Counter({
    name: 'herald_writer_waits_total', help: 'Times a producer waited for room in a full batched writer (WRITE_QUEUE_MAX_ROWS), by writer', labelNames: ['writer'], registers: [registry],
  });
  const storeWaits = new Counter({
    name: 'herald_job_store_waits_total', help: 'Times a job went back to wait for PostgreSQL or Redis (down) without spending an attempt, by job type',
    labelNames: ['type'], registers: [registry],
  });
  const notificationsSent = new Counter({ name: 'herald_notifications_pushed_total', help: 'Notifications pushed, by kind', labelNames: ['kind'], registers: [registry] });
  const pushLatency = new Histogram({
    name: 'herald_push_latency_seconds', help: "From an event's publication (`at`) to its delivery to the gateway's sockets", labelNames: ['event'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'herald_http_request_duration_seconds', help: 'HTTP request durations by method, route and status', labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10], registers: [registry],
  });
  const rateLimitsSkipped = new Counter({
    name: 'herald_rate_limit_fail_open_total', help: 'Requests let through unchecked because Redis did not answer the rate limit, by limit',
    labelNames: ['limit'], registers: [registry],
  });
  return { jobsFinished, jobDuration, eventsPublished, writerWaits, storeWaits, notificationsSent, pushLatency, httpDuration, rateLimitsSkipped };
}

/** What a scrape reads from the running parts, through `sources`. */
function defineGauges(registry: Registry, sources: Readonly<MetricSources>): void {
  const depth = new Gauge({
    name: 'herald_queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'], registers: [registry],
    // Every process reads the same queues: folded with another process's scrape, it is counted once.
    aggregator: 'max',
    async collect() {
      for (const q of (await sources.queueCounts?.().catch(() => [])) ?? []) {
        for (const state of ['waiting', 'active', 'delayed', 'completed', 'failed', 'paused'] as const) depth.set({ queue: q.name, state }, q[state]);
      }
    },
  });
  new Gauge({ name: 'herald_sockets_connected', help: "Sockets connected to this process's gateway", registers: [registry], collect() { this.set(sources.sockets?.() ?? 0); } });
  new Gauge({ name: 'herald_subscriptions', help: 'Document subscriptions held by sockets on this gateway', registers: [registry], collect() { this.set(sources.subscriptions?.() ?? 0); } });
}

/**
 * The pattern of the endpoint a request matched: the last matched route that
 * is not a middleware (`use` registers those for every method, as `ALL`), so
 * a middleware mounted after an endpoint (the JSON body reader after the
 * upload's) does not name its requests.
 */
function endpointPath(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== 'ALL') return routes[i]!.path;
  return routePath(c, -1);
}
