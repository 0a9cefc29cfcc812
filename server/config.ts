import { z } from 'zod';
import { JOB_QUEUE, type JobName } from '../jobs/contracts.ts';

const JOB_NAMES = Object.keys(JOB_QUEUE) as JobName[];

/** Every role Herald can run; `npm start` runs all three in one process. */
export const ROLES = ['api', 'gateway', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** `scheme://host[:port]` and nothing more, as browsers send in Origin. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/**
 * The environment Herald reads, with each variable's default and meaning.
 * Validated once at start-up; a bad value stops start-up naming every bad variable.
 */
const envSchema = z.object({
  /** `development` (default) or `production`; production refuses to start without AUTH_SECRET. */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** HTTP and Socket.IO port. Default 3000; 0 picks a free one. */
  PORT: int(0, 65535).default(3000),
  /** Interface to listen on. Default 127.0.0.1. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** PostgreSQL; the database is created at start if it is missing. */
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/herald'),
  /** Redis for queues, event streams and pub/sub. */
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  /** HS256 key for JWTs. Unset in development: a random key is kept in `.herald/dev-secret`. */
  AUTH_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Starts every Redis key, BullMQ queue and pub/sub channel, so deployments can share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-", at most 64')
    .default('herald'),
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Jobs one worker process runs at once. */
  WORKER_CONCURRENCY: int(1, 1000).default(32),
  /** Largest accepted request body in bytes (413 past it). Default 10 MiB. */
  MAX_UPLOAD_BYTES: int(1024, 1024 ** 3).default(10 * 1024 * 1024),
  /**
   * Other origins allowed to call the API and open sockets, comma-separated
   * (`https://app.example.com,https://admin.example.com`), or `*` for any.
   * Default: none, same-origin only (requests without an Origin header, from
   * servers and scripts, are always allowed).
   */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
    .refine((list) => list.every((o) => o === '*' || isOrigin(o)), 'a comma-separated list of origins such as https://app.example.com, or *'),
  /** Documents one socket may watch at once (`too_many_subscriptions` past it). */
  SOCKET_MAX_SUBSCRIPTIONS: int(1, 100_000).default(100),
  /** Messages per second one socket may send, on average (`rate_limited` past it; cut off if it keeps on). */
  SOCKET_RATE_LIMIT: int(1, 100_000).default(20),
  /** Messages one socket may send at once above the rate; enough to resume SOCKET_MAX_SUBSCRIPTIONS documents after a reconnect. */
  SOCKET_RATE_BURST: int(1, 1_000_000).default(120),
  /** Largest socket message in bytes (Socket.IO's maxHttpBufferSize); a bigger one closes the socket. */
  SOCKET_MAX_MESSAGE_BYTES: int(256, 100 * 1024 * 1024).default(64 * 1024),
  /** `builtin` (offline, deterministic) or `openai` (any OpenAI-compatible endpoint). */
  AI_PROVIDER: z.enum(['builtin', 'openai']).default('builtin'),
  AI_BASE_URL: z.url().default('https://api.openai.com/v1'),
  AI_API_KEY: z.string().optional(),
  AI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  AI_EMBED_MODEL: z.string().min(1).default('text-embedding-3-small'),
  /** Extra delay per builtin AI call, standing in for a real model's latency. */
  AI_SIMULATED_LATENCY_MS: int(0, 600_000).default(0),
  /** Attempts per chapter job before the chapter is marked failed. */
  CHAPTER_ATTEMPTS: int(1, 50).default(3),
  /** First retry delay; each later one doubles. */
  RETRY_BACKOFF_MS: int(1, 3_600_000).default(1000),
  /** Events kept per document for `since` replay. */
  EVENT_STREAM_MAXLEN: int(10, 1_000_000).default(2000),
  /** Batched writer: rows per statement at most. */
  WRITE_BATCH_MAX_ROWS: int(1, 10_000).default(500),
  /** Batched writer: pending rows before producers wait (backpressure). */
  WRITE_QUEUE_MAX_ROWS: int(1, 1_000_000).default(5000),
  /** Distinct chapters saved since the outline was built at which it goes stale and is refreshed (low priority). */
  OUTLINE_STALE_THRESHOLD: int(1, 100_000).default(5),
  /** Distinct chapters mentioning a character, saved since its sheet was built, at which the sheet goes stale. */
  CHARACTER_STALE_THRESHOLD: int(1, 100_000).default(3),
  /**
   * Quiet time after a chapter's last save before its summary is refreshed; every
   * save within it restarts it, so a burst of saves runs one refresh with the last text.
   */
  SUMMARY_DEBOUNCE_MS: int(0, 600_000).default(2000),
  /** How often the outbox relay looks for rows when no NOTIFY woke it (after a Redis outage, a missed notification). */
  OUTBOX_POLL_MS: int(10, 600_000).default(1000),
  /**
   * Attempts per job type over the defaults (chapter jobs: CHAPTER_ATTEMPTS; ingest
   * and finalize 5; packages, artifacts and refreshes 3), as `type=n` pairs:
   * `package.build=5,document.refresh=2`.
   */
  JOB_ATTEMPTS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((p) => p.trim()).filter(Boolean).map((p) => p.split('=').map((x) => x.trim())))
    .refine((pairs) => pairs.every(([k, n]) => (JOB_NAMES as readonly string[]).includes(k!) && /^\d{1,2}$/.test(n ?? '') && Number(n) >= 1),
      `type=n pairs, comma-separated, n from 1 to 99; types: ${JOB_NAMES.join(', ')}`)
    .transform((pairs) => Object.fromEntries(pairs.map(([k, n]) => [k, Number(n)])) as Partial<Record<JobName, number>>),
  /** Finished jobs' rows (and BullMQ's own finished jobs) older than this many days are deleted by housekeeping. */
  JOB_RETENTION_DAYS: z.coerce.number().min(0).max(3650).default(30),
  /** How often the housekeeping job runs (a BullMQ job scheduler). Default hourly. */
  HOUSEKEEPING_INTERVAL_MS: int(1000, 7 * 24 * 3600_000).default(3600_000),
  /**
   * How often `jobs` rows left open by a process that died are checked
   * against BullMQ (rows unchanged for this long); a job scheduler runs it.
   */
  JOB_RECONCILE_INTERVAL_MS: int(1000, 24 * 3600_000).default(30_000),
  /**
   * A worker's lock on a running job (renewed while it runs, BullMQ's
   * lockDuration): a job whose worker died or froze runs again elsewhere
   * once it expires (checked as often, BullMQ's stalledInterval).
   */
  JOB_LOCK_MS: int(5000, 600_000).default(30_000),
  /** A job processing for longer than this counts as stuck in /health's `stuck_jobs`. */
  STUCK_JOB_SECONDS: z.coerce.number().min(0).max(7 * 24 * 3600).default(600),
  /** Writes a `jobs` row for every job (off only to measure what tracking costs). */
  JOB_TRACKING: z.enum(['on', 'off']).default('on'),
  /** Manual refreshes one user may start per REFRESH_WINDOW_SECONDS (429 past it). */
  REFRESH_LIMIT: int(1, 10_000).default(5),
  /** The sliding window of REFRESH_LIMIT, in seconds. */
  REFRESH_WINDOW_SECONDS: int(1, 86_400).default(300),
  /** Users (token `sub`s, comma-separated) who may open the Bull Board at /admin/queues. */
  ADMIN_USERS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((u) => u.trim()).filter(Boolean)),
  /** How long a Bull Board sign-in (`/admin/queues?token=<jwt>`) lasts, in seconds. Default 8 hours. */
  ADMIN_SESSION_TTL_SECONDS: int(60, 7 * 86_400).default(8 * 3600),
  /**
   * `on` behind a TLS-terminating proxy that sets X-Forwarded-Proto: a request
   * it marks `https` counts as https (the board's cookie gets `Secure`).
   * Default `off`: the header is ignored, as any client could send it.
   */
  TRUST_PROXY: z.enum(['on', 'off']).default('off'),
  /**
   * When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>` (401
   * otherwise). Unset (default): /metrics is open, for a Prometheus scraping
   * over a private network; set it whenever the port is reachable from outside.
   */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Members one document may have besides its owner; adding one more answers 409 `member_limit_reached`. */
  MAX_MEMBERS_PER_DOCUMENT: int(1, 10_000).default(50),
  /**
   * Notifications about one document that one user receives per
   * NOTIFICATION_WINDOW_SECONDS (sliding); the excess is dropped. The default
   * leaves room for an owner's busiest normal use (five refreshes and a few
   * packages in ten minutes).
   */
  NOTIFICATION_LIMIT: int(1, 100_000).default(20),
  /** The sliding window of NOTIFICATION_LIMIT, in seconds. Default 10 minutes. */
  NOTIFICATION_WINDOW_SECONDS: int(1, 86_400).default(600),
  /**
   * Sockets one user may hold open at once, across every gateway (handshake
   * `too_many_sockets` past it). Default 20: several devices and browsers
   * (the SDK shares one socket per browser), with room for reconnects.
   */
  SOCKET_MAX_PER_USER: int(1, 1_000_000).default(20),
  /**
   * How long a gateway's claim on one of its sockets' slots lasts unless it
   * renews it (each gateway renews every third of this), so a gateway that
   * died frees its users' slots within this time. Default 30 s.
   */
  SOCKET_CLAIM_TTL_MS: int(1000, 600_000).default(30_000),
  /**
   * Largest chapter text an autosave may carry, in bytes of UTF-8 (413 past
   * it). Default 1 MiB: about 170,000 words, several times the longest novel
   * chapter, while 20 saves of it still fit in a second of PostgreSQL work.
   */
  MAX_CHAPTER_BYTES: int(1024, 1024 ** 3).default(1024 * 1024),
  /**
   * Autosaves one user may make per second on average, across every tab and
   * API process (429 `rate_limited` past it); a save costs one per started
   * 64 KiB of text. Default 20: an editor debounces to about one save a
   * second per chapter being typed in, so this covers a writer with many
   * tabs, and the drills' four editors saving every 200 ms.
   */
  AUTOSAVE_RATE: z.coerce.number().min(0.01).max(100_000).default(20),
  /** Autosave tokens one user may spend at once after a quiet while (retries after a network drop come in a burst). Default 100. */
  AUTOSAVE_BURST: int(1, 1_000_000).default(100),
  /** Latest versions of each chapter always kept in its history (`chapter_versions`). Default 50. */
  CHAPTER_HISTORY_KEEP: int(1, 1_000_000).default(50),
  /**
   * Beyond the latest CHAPTER_HISTORY_KEEP, the last version saved in each
   * hour is kept for this many days; housekeeping deletes the rest. Default 30:
   * at most 50 + 24 × 30 = 770 versions per chapter.
   */
  CHAPTER_HISTORY_HOURLY_DAYS: int(1, 36_500).default(30),
  /**
   * Package requests (`POST /api/documents/:id/package`) one user may make
   * per PACKAGE_WINDOW_SECONDS, over all documents (429 past it). Each builds
   * and stores the essential package and publishes it, so the limit bounds
   * that work and the events it leaves in Redis. Default 20.
   */
  PACKAGE_LIMIT: int(1, 10_000).default(20),
  /** The sliding window of PACKAGE_LIMIT, in seconds. Default 300. */
  PACKAGE_WINDOW_SECONDS: int(1, 86_400).default(300),
  /**
   * `on`: `npm start` without `--role` runs every role in one process (as
   * `npm start -- --single-process` does), for debugging. Default `off`: the
   * api and gateway roles run in the main process and the worker role in a
   * supervised child process at lower CPU priority, so ingest work does not
   * slow the API.
   */
  SINGLE_PROCESS: z.enum(['on', 'off']).default('off'),
  /**
   * How much lower the supervised worker process's CPU priority is than the
   * main process's, in nice steps (0 to 19; 0: the same). Default 10: when
   * both want the cores, the API's requests go first.
   */
  WORKER_NICE: int(0, 19).default(10),
  /**
   * Chapter jobs one user's uploads keep waiting in the queue, shared among
   * the user's documents in flight (jobs/ingest-window.ts): each chapter job
   * queues the next as it starts, so documents interleave and another
   * writer's document waits behind at most this many of each user's
   * chapters. Default 64: two per worker slot at the default concurrency.
   */
  INGEST_WINDOW_PER_USER: int(1, 10_000).default(64),
  /**
   * Chapters one user may have queued or running (uploads still processing,
   * chapters without an outcome); an upload that would pass it is refused,
   * 429 `rate_limited`, unless the user has nothing queued: one document
   * within the size and chapter limits always goes in. Default 20,000.
   */
  MAX_QUEUED_CHAPTERS_PER_USER: int(1, 10_000_000).default(20_000),
  /** Uploads one user may have processing at once (429 `rate_limited` past it, unless nothing is queued). Default 50. */
  MAX_UPLOADS_IN_FLIGHT_PER_USER: int(1, 100_000).default(50),
  /**
   * `on` (default): an API process publishes the events and enqueues the
   * jobs of its own saves and package requests right after they commit, and
   * the outbox relay sends only what that missed (a crash, Redis down).
   * `off`: every row waits for a relay (NOTIFY, a claim transaction), as
   * before; kept to compare the two.
   */
  OUTBOX_FAST_PATH: z.enum(['on', 'off']).default('on'),
  /**
   * Requests of one user an API process runs at once; more wait their turn
   * (before their bodies are read). Default 4: a page's usual burst barely
   * waits, and a user firing dozens of heavy requests holds a few slices of
   * the event loop, not all of them.
   */
  USER_REQUEST_CONCURRENCY: int(1, 10_000).default(4),
  /** Requests of one user that may wait for a turn in one API process; past it, 429 `rate_limited`. Default 64. */
  USER_REQUEST_QUEUE: int(0, 100_000).default(64),
});

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly authSecret: string | undefined;
  readonly redisPrefix: string;
  readonly logLevel: string;
  readonly worker: { readonly concurrency: number; readonly chapterAttempts: number; readonly backoffMs: number; readonly lockMs: number };
  readonly maxUploadBytes: number;
  /** Origins besides the server's own that may use the API and the sockets; `*` for any. */
  readonly corsOrigins: readonly string[];
  readonly gateway: {
    readonly maxSubscriptions: number;
    readonly rateLimit: { readonly perSecond: number; readonly burst: number };
    readonly maxMessageBytes: number;
  };
  readonly ai: {
    readonly provider: 'builtin' | 'openai';
    readonly baseUrl: string;
    readonly apiKey: string | undefined;
    readonly model: string;
    readonly embedModel: string;
    readonly simulatedLatencyMs: number;
  };
  readonly events: { readonly streamMaxLen: number };
  readonly writer: { readonly maxBatchRows: number; readonly maxQueuedRows: number };
  readonly freshness: FreshnessConfig;
  readonly outbox: { readonly pollMs: number };
  readonly jobs: JobsConfig;
  /** Manual refreshes per user: `limit` per sliding `windowSeconds`. */
  readonly refresh: { readonly limit: number; readonly windowSeconds: number };
  /** Users allowed into /admin/queues. */
  readonly adminUsers: readonly string[];
  /** Bounds on autosave: chapter size and per-user rate. */
  readonly autosave: { readonly maxChapterBytes: number; readonly ratePerSecond: number; readonly burst: number };
  /** Chapter history retention (housekeeping). */
  readonly chapterHistory: ChapterHistoryConfig;
  /** Sockets per user across gateways, and the lifetime of a gateway's claim on a slot. */
  readonly sockets: { readonly maxPerUser: number; readonly claimTtlMs: number };
  /** Members per document, and notifications per document and recipient: `limit` per sliding `windowSeconds`. */
  readonly sharing: {
    readonly maxMembersPerDocument: number;
    readonly notifications: { readonly limit: number; readonly windowSeconds: number };
  };
  /** The web surface: board sessions, proxy trust, the metrics token. */
  readonly web: WebConfig;
  /** Package requests per user: `limit` per sliding `windowSeconds`. */
  readonly packageRequests: { readonly limit: number; readonly windowSeconds: number };
  /** Whether the API publishes its own outbox rows after the commit (OUTBOX_FAST_PATH). */
  readonly outboxFastPath: boolean;
  /** One user's share of an API process: requests run at once, and requests waiting. */
  readonly userRequests: { readonly concurrency: number; readonly queue: number };
  /** How `npm start` without `--role` lays out its roles: one process, or the worker in a supervised child. */
  readonly processes: { readonly singleProcess: boolean; readonly workerNice: number };
  /** Fair scheduling and per-user quotas of queued work. */
  readonly ingest: IngestConfig;
}

export interface IngestConfig {
  /** Chapter jobs one user keeps waiting, shared among the user's documents in flight. */
  readonly windowPerUser: number;
  /** Chapters one user may have queued or running before an upload is refused. */
  readonly maxQueuedChapters: number;
  /** Uploads one user may have processing at once. */
  readonly maxUploadsInFlight: number;
}

/** What housekeeping keeps of each chapter's history. */
export interface ChapterHistoryConfig {
  /** The latest versions always kept. Default 50. */
  readonly keep: number;
  /** Beyond those, the last version of each hour is kept this many days. Default 30. */
  readonly hourlyDays: number;
}

/** What the browser-facing parts need: the Bull Board's sessions, whether to believe the proxy, /metrics' token. */
export interface WebConfig {
  /** Lifetime of a Bull Board session, in seconds. Default 8 hours. */
  readonly adminSessionTtlSeconds: number;
  /** Believe `X-Forwarded-Proto` (TRUST_PROXY=on). */
  readonly trustProxy: boolean;
  /** Bearer token GET /metrics requires; undefined: open. */
  readonly metricsToken: string | undefined;
}

/** Job records, retries and housekeeping. */
export interface JobsConfig {
  /** Attempts per job type over the defaults. */
  readonly attempts: Readonly<Partial<Record<JobName, number>>>;
  readonly retentionDays: number;
  readonly housekeepingIntervalMs: number;
  readonly reconcileIntervalMs: number;
  readonly stuckJobSeconds: number;
  readonly tracking: boolean;
}

/** When derived artifacts are refreshed after edits. */
export interface FreshnessConfig {
  /** Dirty chapters that make the outline stale. Default 5. */
  readonly outlineThreshold: number;
  /** Dirty chapters that make a character sheet stale. Default 3. */
  readonly characterThreshold: number;
  /** Debounce of the per-chapter summary refresh, in ms. Default 2000. */
  readonly summaryDebounceMs: number;
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
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production' && !e.AUTH_SECRET) {
    throw new ConfigError(['AUTH_SECRET: required when NODE_ENV=production (an HS256 key of 16+ characters)']);
  }
  if (e.AI_PROVIDER === 'openai' && !e.AI_API_KEY) {
    throw new ConfigError(['AI_API_KEY: required when AI_PROVIDER=openai']);
  }
  return deepFreeze({
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    authSecret: e.AUTH_SECRET,
    redisPrefix: e.REDIS_PREFIX,
    logLevel: e.LOG_LEVEL,
    worker: { concurrency: e.WORKER_CONCURRENCY, chapterAttempts: e.CHAPTER_ATTEMPTS, backoffMs: e.RETRY_BACKOFF_MS, lockMs: e.JOB_LOCK_MS },
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
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
    events: { streamMaxLen: e.EVENT_STREAM_MAXLEN },
    writer: { maxBatchRows: e.WRITE_BATCH_MAX_ROWS, maxQueuedRows: e.WRITE_QUEUE_MAX_ROWS },
    freshness: {
      outlineThreshold: e.OUTLINE_STALE_THRESHOLD,
      characterThreshold: e.CHARACTER_STALE_THRESHOLD,
      summaryDebounceMs: e.SUMMARY_DEBOUNCE_MS,
    },
    outbox: { pollMs: e.OUTBOX_POLL_MS },
    jobs: {
      attempts: e.JOB_ATTEMPTS,
      retentionDays: e.JOB_RETENTION_DAYS,
      housekeepingIntervalMs: e.HOUSEKEEPING_INTERVAL_MS,
      reconcileIntervalMs: e.JOB_RECONCILE_INTERVAL_MS,
      stuckJobSeconds: e.STUCK_JOB_SECONDS,
      tracking: e.JOB_TRACKING === 'on',
    },
    refresh: { limit: e.REFRESH_LIMIT, windowSeconds: e.REFRESH_WINDOW_SECONDS },
    adminUsers: e.ADMIN_USERS,
    web: { adminSessionTtlSeconds: e.ADMIN_SESSION_TTL_SECONDS, trustProxy: e.TRUST_PROXY === 'on', metricsToken: e.METRICS_TOKEN },
    sharing: {
      maxMembersPerDocument: e.MAX_MEMBERS_PER_DOCUMENT,
      notifications: { limit: e.NOTIFICATION_LIMIT, windowSeconds: e.NOTIFICATION_WINDOW_SECONDS },
    },
    sockets: { maxPerUser: e.SOCKET_MAX_PER_USER, claimTtlMs: e.SOCKET_CLAIM_TTL_MS },
    autosave: { maxChapterBytes: e.MAX_CHAPTER_BYTES, ratePerSecond: e.AUTOSAVE_RATE, burst: e.AUTOSAVE_BURST },
    chapterHistory: { keep: e.CHAPTER_HISTORY_KEEP, hourlyDays: e.CHAPTER_HISTORY_HOURLY_DAYS },
    packageRequests: { limit: e.PACKAGE_LIMIT, windowSeconds: e.PACKAGE_WINDOW_SECONDS },
    processes: { singleProcess: e.SINGLE_PROCESS === 'on', workerNice: e.WORKER_NICE },
    ingest: {
      windowPerUser: e.INGEST_WINDOW_PER_USER,
      maxQueuedChapters: e.MAX_QUEUED_CHAPTERS_PER_USER,
      maxUploadsInFlight: e.MAX_UPLOADS_IN_FLIGHT_PER_USER,
    },
    outboxFastPath: e.OUTBOX_FAST_PATH === 'on',
    userRequests: { concurrency: e.USER_REQUEST_CONCURRENCY, queue: e.USER_REQUEST_QUEUE },
  });
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

function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (v && typeof v === 'object') deepFreeze(v);
  return Object.freeze(value);
}
