import { z } from 'zod';
import { DEFAULT_POOL_SIZE, envSchema } from './config-schema.ts';

/** Every role Herald can run; `npm start` runs all three in one process. */
export const ROLES = ['api', 'gateway', 'worker'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The validated environment in the shape the code uses, grouped by the part
 * that reads it; each part receives its slice. The variables, their defaults
 * and meanings are in server/config-schema.ts (and docs/configuration.md).
 * The mapping is one object literal, long but flat, so `Config` is inferred
 * from it whole.
 */
const configSchema = envSchema
  .superRefine((e, ctx) => {
    if (e.NODE_ENV === 'production' && !e.AUTH_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_SECRET'], message: 'required when NODE_ENV=production (an HS256 key of 16+ characters)' });
    }
    if (e.AI_PROVIDER === 'openai' && !e.AI_API_KEY) {
      ctx.addIssue({ code: 'custom', path: ['AI_API_KEY'], message: 'required when AI_PROVIDER=openai' });
    }
    if (e.PRESENCE_RENEW_MS >= e.PRESENCE_TTL_MS) {
      ctx.addIssue({ code: 'custom', path: ['PRESENCE_RENEW_MS'], message: 'must be less than PRESENCE_TTL_MS, or present users would lapse between renewals' });
    }
  })
  // One line per setting, from the environment's names to the config's shape: long, and flat on purpose.
  .transform((e) => ({
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    /** Migrations and LISTEN; when set, databaseUrl may be a transaction-mode pooler. */
    databaseDirectUrl: e.DATABASE_DIRECT_URL,
    /** Connections per process; undefined: DEFAULT_POOL_SIZE by role (see poolSizeFor). */
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    /** Seeds of a Redis Cluster; empty: one Redis at redisUrl. */
    redisClusterNodes: e.REDIS_CLUSTER_NODES.map(parseHostPort),
    authSecret: e.AUTH_SECRET,
    redisPrefix: e.REDIS_PREFIX,
    logLevel: e.LOG_LEVEL,
    worker: { concurrency: e.WORKER_CONCURRENCY, chapterAttempts: e.CHAPTER_ATTEMPTS, backoffMs: e.RETRY_BACKOFF_MS, lockMs: e.JOB_LOCK_MS },
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    /** Origins besides the server's own that may use the API and the sockets; `*` for any. */
    corsOrigins: e.CORS_ORIGINS,
    gateway: {
      maxSubscriptions: e.SOCKET_MAX_SUBSCRIPTIONS,
      rateLimit: { perSecond: e.SOCKET_RATE_LIMIT, burst: e.SOCKET_RATE_BURST },
      maxMessageBytes: e.SOCKET_MAX_MESSAGE_BYTES,
    },
    ai: {
      provider: e.AI_PROVIDER,
      baseUrl: e.AI_BASE_URL,
      apiKey: e.AI_API_KEY,
      model: e.AI_MODEL,
      embedModel: e.AI_EMBED_MODEL,
      simulatedLatencyMs: e.AI_SIMULATED_LATENCY_MS,
    },
    /** A document's event history in Redis: events kept for replay, and how long it outlives its last event. */
    events: { streamMaxLen: e.EVENT_STREAM_MAXLEN, ttlSeconds: e.EVENT_HISTORY_TTL_SECONDS },
    writer: { maxBatchRows: e.WRITE_BATCH_MAX_ROWS, maxQueuedRows: e.WRITE_QUEUE_MAX_ROWS },
    /** When derived artifacts go stale after edits, and the debounce of a chapter's summary refresh. */
    freshness: {
      outlineThreshold: e.OUTLINE_STALE_THRESHOLD,
      characterThreshold: e.CHARACTER_STALE_THRESHOLD,
      summaryDebounceMs: e.SUMMARY_DEBOUNCE_MS,
    },
    outbox: { pollMs: e.OUTBOX_POLL_MS },
    /** Job records, retries and housekeeping. */
    jobs: {
      attempts: e.JOB_ATTEMPTS,
      retentionDays: e.JOB_RETENTION_DAYS,
      housekeepingIntervalMs: e.HOUSEKEEPING_INTERVAL_MS,
      reconcileIntervalMs: e.JOB_RECONCILE_INTERVAL_MS,
      stuckJobSeconds: e.STUCK_JOB_SECONDS,
      tracking: e.JOB_TRACKING === 'on',
    },
    /** Manual refreshes per user: `limit` per sliding `windowSeconds`. */
    refresh: { limit: e.REFRESH_LIMIT, windowSeconds: e.REFRESH_WINDOW_SECONDS },
    /** Users allowed into /admin/queues. */
    adminUsers: e.ADMIN_USERS,
    /** The browser-facing parts: the Bull Board's sessions, whether to believe the proxy, /metrics' token (undefined: open). */
    web: { adminSessionTtlSeconds: e.ADMIN_SESSION_TTL_SECONDS, trustProxy: e.TRUST_PROXY === 'on', metricsToken: e.METRICS_TOKEN },
    /** Members per document, and notifications per document and recipient: `limit` per sliding `windowSeconds`. */
    sharing: {
      maxMembersPerDocument: e.MAX_MEMBERS_PER_DOCUMENT,
      notifications: { limit: e.NOTIFICATION_LIMIT, windowSeconds: e.NOTIFICATION_WINDOW_SECONDS },
    },
    /** Sockets per user across gateways, and the lifetime of a gateway's claim on a slot. */
    sockets: { maxPerUser: e.SOCKET_MAX_PER_USER, claimTtlMs: e.SOCKET_CLAIM_TTL_MS },
    /** How long a socket's presence entry lasts unless its gateway renews it, and how often gateways renew. */
    presence: { ttlMs: e.PRESENCE_TTL_MS, renewMs: e.PRESENCE_RENEW_MS },
    /** Bounds on autosave: chapter size and per-user rate. */
    autosave: { maxChapterBytes: e.MAX_CHAPTER_BYTES, ratePerSecond: e.AUTOSAVE_RATE, burst: e.AUTOSAVE_BURST },
    /** What housekeeping keeps of each chapter's history: the latest `keep`, then one per hour for `hourlyDays`. */
    chapterHistory: { keep: e.CHAPTER_HISTORY_KEEP, hourlyDays: e.CHAPTER_HISTORY_HOURLY_DAYS },
    /** Package requests per user: `limit` per sliding `windowSeconds`. */
    packageRequests: { limit: e.PACKAGE_LIMIT, windowSeconds: e.PACKAGE_WINDOW_SECONDS },
    /** How `npm start` without `--role` lays out its roles: one process, or the worker in a supervised child. */
    processes: { singleProcess: e.SINGLE_PROCESS === 'on', workerNice: e.WORKER_NICE },
    /** Fair scheduling and per-user quotas of queued work. */
    ingest: {
      windowPerUser: e.INGEST_WINDOW_PER_USER,
      chaptersPerJob: e.CHAPTERS_PER_JOB,
      maxQueuedChapters: e.MAX_QUEUED_CHAPTERS_PER_USER,
      maxUploadsInFlight: e.MAX_UPLOADS_IN_FLIGHT_PER_USER,
    },
    /** Whether the API publishes its own outbox rows after the commit (OUTBOX_FAST_PATH). */
    outboxFastPath: e.OUTBOX_FAST_PATH === 'on',
    /** One user's share of an API process: requests run at once, and requests waiting. */
    userRequests: { concurrency: e.USER_REQUEST_CONCURRENCY, queue: e.USER_REQUEST_QUEUE },
  }));

type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** The validated configuration, frozen (loadConfig). */
export type Config = DeepReadonly<z.output<typeof configSchema>>;
export type IngestConfig = Config['ingest'];
export type ChapterHistoryConfig = Config['chapterHistory'];
export type WebConfig = Config['web'];
export type JobsConfig = Config['jobs'];
export type FreshnessConfig = Config['freshness'];

/** Connections in this process's PostgreSQL pool: DATABASE_POOL_SIZE, or by the roles it runs. */
export function poolSizeFor(config: Config, roles: readonly Role[]): number {
  return config.databasePoolSize ?? (roles.includes('worker') ? DEFAULT_POOL_SIZE.withWorker : DEFAULT_POOL_SIZE.withoutWorker);
}

/** `host:port` (validated by the schema) as ioredis's Cluster takes a seed; brackets come off an IPv6 host. */
function parseHostPort(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  return { host: value.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port: Number(value.slice(at + 1)) };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Reads and validates the environment once; the result is frozen. Throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "unset", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return deepFreeze(parsed.data);
}

/** Parses `--role=api,gateway` (also `--role api`); default every role. */
export function parseRoles(argv: string[]): Role[] {
  const values: string[] = [];
  argv.forEach((arg, i) => {
    if (arg.startsWith('--role=')) values.push(arg.slice('--role='.length));
    else if (arg === '--role' && argv[i + 1]) values.push(argv[i + 1]!);
  });
  if (values.length === 0) return [...ROLES];
  const roles = values.flatMap((v) => v.split(',')).map((r) => r.trim()).filter(Boolean);
  const bad = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (bad.length > 0 || roles.length === 0) {
    throw new ConfigError([`--role: unknown role ${bad.map((b) => `"${b}"`).join(', ') || '(empty)'}; use ${ROLES.join(', ')}, comma-separated`]);
  }
  return [...new Set(roles)] as Role[];
}

function deepFreeze<T extends object>(value: T): DeepReadonly<T> {
  for (const v of Object.values(value)) if (v && typeof v === 'object') deepFreeze(v);
  return Object.freeze(value) as DeepReadonly<T>;
}
