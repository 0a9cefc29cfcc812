/**
 * The capacity model: per-unit costs measured by the bench's capacity group
 * (capacity.ts), turned into what a deployment needs for a number of
 * connected writers at a stated activity. Pure: numbers in, numbers out.
 * docs/scaling.md explains the model and holds a table this file printed.
 */

/** CPU is in milliseconds; each part of Herald's own CPU is counted apart, and so are Redis's and PostgreSQL's. */
export interface CpuMs {
  api: number;
  gateway: number;
  worker: number;
  redis: number;
  postgres: number;
}

export interface UnitCosts {
  /** One chapter of an upload, from upload to its last event (one watcher). */
  chapter: { cpuMs: CpuMs; redisCommands: number; redisBytes: number; pgStatements: number };
  /** One autosave with its events, jobs (summary refresh) and their events, not counting the deliveries to watchers. */
  save: { cpuMs: CpuMs; redisCommands: number; redisBytes: number; pgStatements: number; eventsPerWatcher: number };
  /** One event delivered to one subscribed socket: gateway CPU. */
  delivery: { gatewayCpuMs: number };
  /** One idle subscribed socket, per second: gateway CPU (heartbeats, claim renewals), Redis commands; and its memory. */
  socket: { gatewayCpuMsPerS: number; redisCpuMsPerS: number; redisCommandsPerS: number; rssKiB: number };
  /** The share of Redis commands on BullMQ's keys (on Redis Cluster they all live on one shard). */
  queueShare: number;
}

/** What connected writers do, on average. */
export interface Activity {
  /** Autosaves per connected writer per minute (a typing writer saves about once a second; most writers are reading or thinking). */
  savesPerWriterPerMinute: number;
  /** Uploads per connected writer per hour, and their size. */
  uploadsPerWriterPerHour: number;
  chaptersPerUpload: number;
  /** Sockets watching each open document (the writer and any collaborators). */
  watchersPerDocument: number;
}

export const DEFAULT_ACTIVITY: Activity = { savesPerWriterPerMinute: 4, uploadsPerWriterPerHour: 0.05, chaptersPerUpload: 60, watchersPerDocument: 1.5 };

/** What one process or node is planned to carry. */
export const BUDGETS = {
  /** A Node process (gateway, API, worker) uses one core; plan it at this share so spikes fit. */
  processCpuShare: 0.6,
  /** Redis runs commands on one thread; plan each shard at this share of it. */
  redisCpuShare: 0.5,
  /** PostgreSQL cores planned at this share. */
  postgresCpuShare: 0.6,
  /** Memory a gateway process may give its sockets (the heap limit is raised with --max-old-space-size). */
  gatewaySocketMemoryMiB: 4096,
};

export interface CapacityRow {
  writers: number;
  savesPerS: number;
  chaptersPerS: number;
  deliveriesPerS: number;
  gateways: number;
  apis: number;
  workers: number;
  redisShards: number;
  /** The queue shard's load as a share of one Redis thread (past BUDGETS.redisCpuShare it is the limit). */
  queueShardLoad: number;
  postgresCores: number;
  redisMiBPerS: number;
  /** What runs out first as writers grow, and what removes it. */
  bottleneck: string;
}

/** The resources `writers` connected writers need (one socket each, one open document each). */
export function plan(units: UnitCosts, activity: Activity, writers: number): CapacityRow {
  const savesPerS = (writers * activity.savesPerWriterPerMinute) / 60;
  const chaptersPerS = (writers * activity.uploadsPerWriterPerHour * activity.chaptersPerUpload) / 3600;
  const deliveriesPerS = savesPerS * activity.watchersPerDocument * units.save.eventsPerWatcher;
  const cpu = (part: keyof CpuMs) => savesPerS * units.save.cpuMs[part] + chaptersPerS * units.chapter.cpuMs[part];

  const gatewayCpu = cpu('gateway') + deliveriesPerS * units.delivery.gatewayCpuMs + writers * units.socket.gatewayCpuMsPerS;
  const byCpu = gatewayCpu / 1000 / BUDGETS.processCpuShare;
  const byMemory = (writers * units.socket.rssKiB) / 1024 / BUDGETS.gatewaySocketMemoryMiB;
  const gateways = Math.max(1, Math.ceil(Math.max(byCpu, byMemory)));
  const apis = Math.max(1, Math.ceil(cpu('api') / 1000 / BUDGETS.processCpuShare));
  const workers = Math.max(1, Math.ceil(cpu('worker') / 1000 / BUDGETS.processCpuShare));

  const redisCpu = cpu('redis') + writers * units.socket.redisCpuMsPerS;
  const queueShardLoad = (redisCpu * units.queueShare) / 1000;
  const redisShards = Math.max(1, Math.ceil(redisCpu / 1000 / BUDGETS.redisCpuShare));
  const postgresCores = Math.max(1, Math.ceil(cpu('postgres') / 1000 / BUDGETS.postgresCpuShare));
  const redisMiBPerS = (savesPerS * units.save.redisBytes + chaptersPerS * units.chapter.redisBytes) / 2 ** 20;

  const loads: [string, number][] = [
    ['the queue shard (BullMQ keeps every queue under one hash tag): split queues by document range into several deployments, or move the heaviest jobs to a queue of their own', queueShardLoad / BUDGETS.redisCpuShare],
    ['PostgreSQL CPU (autosave statements): a larger primary, then partition documents across databases', postgresCores / 64],
    ['gateway memory per socket: more gateway processes behind the load balancer', byMemory / Math.max(gateways, 1)],
  ];
  loads.sort((a, b) => b[1] - a[1]);
  return {
    writers,
    savesPerS,
    chaptersPerS,
    deliveriesPerS,
    gateways,
    apis,
    workers,
    redisShards,
    queueShardLoad,
    postgresCores,
    redisMiBPerS,
    bottleneck: loads[0]![0],
  };
}

/** The model's table as Markdown, one row per scale. */
export function capacityTable(units: UnitCosts, activity: Activity = DEFAULT_ACTIVITY, scales = [10_000, 100_000, 1_000_000]): string {
  const rows = scales.map((w) => plan(units, activity, w));
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  return [
    '| writers | saves/s | chapters/s | deliveries/s | gateways | API | workers | Redis shards | queue shard load | PostgreSQL cores | Redis traffic | first bottleneck |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${n(r.writers)} | ${n(r.savesPerS)} | ${n(r.chaptersPerS)} | ${n(r.deliveriesPerS)} | ${r.gateways} | ${r.apis} | ${r.workers} | ${r.redisShards} | ` +
        `${Math.round(r.queueShardLoad * 100)} % | ${r.postgresCores} | ${r.redisMiBPerS.toFixed(1)} MiB/s | ${r.bottleneck} |`,
    ),
  ].join('\n');
}
