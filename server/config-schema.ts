import { z } from 'zod';
import { JOB_QUEUE, type JobName } from '../jobs/contracts.ts';

/**
 * Every environment variable Herald reads: its type, bounds, default and
 * meaning, grouped by the role that uses it. The `.describe()` text is what
 * docs/configuration.md shows (`npm run docs:config` writes it); a variable's
 * `defaultText` meta stands in for a default that is not a plain value.
 */

const JOB_NAMES = Object.keys(JOB_QUEUE) as JobName[];

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const onOff = (fallback: 'on' | 'off') => z.enum(['on', 'off']).default(fallback);
/** A comma-separated list; empty entries are dropped. */
const list = () => z.string().default('').transform((v) => v.split(',').map((item) => item.trim()).filter(Boolean));

/** `scheme://host[:port]` and nothing more, as browsers send in Origin. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** `host:port` with a port from 1 to 65535 (an IPv6 host in brackets: `[::1]:7000`). */
function isHostPort(value: string): boolean {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(value);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65_535;
}

/** Pool sizes when DATABASE_POOL_SIZE is unset: a worker runs many jobs at once, each wanting a connection. */
export const DEFAULT_POOL_SIZE = { withWorker: 20, withoutWorker: 10 } as const;

const processVariables = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development')
    .describe('`production` refuses to start without `AUTH_SECRET`.'),
  PORT: int(0, 65535).default(3000).describe('HTTP and Socket.IO port; `0` picks a free one.'),
  HOST: z.string().min(1).default('127.0.0.1').describe('Interface to listen on.'),
  DATABASE_URL: z.url().default('postgres://postgres@127.0.0.1:5432/herald')
    .describe('PostgreSQL. The database is created at start if it is missing.'),
  DATABASE_DIRECT_URL: z.url().optional()
    .describe("A direct (or session-mode) connection to the same database, for migrations and `LISTEN`. When it is set, `DATABASE_URL` may point at a transaction-mode pooler such as PgBouncer: that pool then uses no prepared statements and no session state, and sets `statement_timeout` with `SET LOCAL` in each transaction (a statement outside one runs under the role's or database's own `statement_timeout`). This connection also creates the database when it is missing; it holds at most two connections per process.")
    .meta({ defaultText: 'none: `DATABASE_URL` is used for everything' }),
  DATABASE_POOL_SIZE: int(1, 1000).optional()
    .describe("Connections in each process's PostgreSQL pool. A worker runs many jobs at once, each wanting a connection; the API and gateway need fewer. A process with the api role opens at most two more, for its upload thread.")
    .meta({ defaultText: `\`${DEFAULT_POOL_SIZE.withWorker}\` in a process that runs the worker role, \`${DEFAULT_POOL_SIZE.withoutWorker}\` otherwise` }),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379').describe('Redis, for queues, event streams and pub/sub.'),
  REDIS_CLUSTER_NODES: list()
    .refine((nodes) => nodes.every(isHostPort), 'a comma-separated list of host:port seeds of a Redis Cluster, such as 10.0.0.1:7000,10.0.0.2:7000')
    .describe('Seeds of a Redis Cluster (Redis 7+), comma-separated `host:port` (`10.0.0.1:7000,10.0.0.2:7000`); the rest of the cluster is discovered from them. When set, Herald runs on the cluster and `REDIS_URL` is not used: one document\'s keys share a hash slot and its events travel by sharded pub/sub (`SPUBLISH`), and every BullMQ key carries the hash tag `{<REDIS_PREFIX>}`, so the queues live on one shard.')
    .meta({ defaultText: 'none: one Redis at `REDIS_URL`' }),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-", at most 64').default('herald')
    .describe('Starts every Redis key, BullMQ queue and pub/sub channel, so deployments can share one Redis (pub/sub ignores the database number). Letters, digits, `_`, `.` or `-`, at most 64.'),
  AUTH_SECRET: z.string().min(16, 'must be at least 16 characters').optional()
    .describe('HS256 key for JWTs, 16 characters or more; required when `NODE_ENV=production`. Unset in development, a random key is kept in `.herald/dev-secret`.')
    .meta({ defaultText: 'a development key in `.herald/dev-secret`' }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
    .describe('pino level; logs are JSON lines.'),
  CORS_ORIGINS: list()
    .refine((origins) => origins.every((o) => o === '*' || isOrigin(o)), 'a comma-separated list of origins such as https://app.example.com, or *')
    .describe('Other origins whose pages may call the API and open sockets, comma-separated (`https://app.example.com,https://admin.example.com`), or `*` for any. Requests without an `Origin` header (servers and scripts) are always allowed.')
    .meta({ defaultText: 'none: same-origin only' }),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional()
    .describe('When set (16 characters or more), `GET /metrics` needs `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise). Unset, `/metrics` is open, for a Prometheus scraping over a private network: set it whenever the port is reachable from outside.')
    .meta({ defaultText: 'none: `/metrics` is open' }),
  STUCK_JOB_SECONDS: z.coerce.number().min(0).max(7 * 24 * 3600).default(600)
    .describe("A job processing for longer than this counts as stuck in `/health`'s `stuck_jobs`."),
};

const layoutVariables = {
  SINGLE_PROCESS: onOff('off')
    .describe('`on`: `npm start` without `--role` runs every role in one process (as `npm start -- --single-process` does), for debugging. `off`: the api and gateway roles run in the main process and the worker role in a supervised child process at lower CPU priority, so ingest work does not slow the API.'),
  WORKER_NICE: int(0, 19).default(10)
    .describe("How much lower the supervised worker process's CPU priority is than the main process's, in nice steps (`0`: the same). When both want the cores, the API's requests go first."),
};

const apiVariables = {
  MAX_UPLOAD_BYTES: int(1024, 1024 ** 3).default(10 * 1024 * 1024)
    .describe('Largest accepted request body, in bytes (413 `payload_too_large` past it). Default 10 MiB.'),
  MAX_CHAPTER_BYTES: int(1024, 1024 ** 3).default(1024 * 1024)
    .describe('Largest chapter text an autosave may carry, in bytes of UTF-8 (413 past it). Default 1 MiB: about 170,000 words, several times the longest novel chapter, while 20 saves of it still fit in a second of PostgreSQL work.'),
  AUTOSAVE_RATE: z.coerce.number().min(0.01).max(100_000).default(20)
    .describe('Autosaves one user may make per second on average, across every tab and API process (429 `rate_limited` past it); a save costs one per started 64 KiB of text. An editor debounces to about one save a second per chapter being typed in, so the default covers a writer with many tabs.'),
  AUTOSAVE_BURST: int(1, 1_000_000).default(100)
    .describe('Autosave tokens one user may spend at once after a quiet while (retries after a network drop come in a burst).'),
  OUTLINE_STALE_THRESHOLD: int(1, 100_000).default(5)
    .describe('Distinct chapters saved since the outline was built at which it goes stale and is refreshed (low priority).'),
  CHARACTER_STALE_THRESHOLD: int(1, 100_000).default(3)
    .describe('Distinct chapters mentioning a character, saved since its sheet was built, at which the sheet goes stale.'),
  SUMMARY_DEBOUNCE_MS: int(0, 600_000).default(2000)
    .describe("Quiet time after a chapter's last save before its summary is refreshed; every save within it restarts it, so a burst of saves runs one refresh with the last text."),
  REFRESH_LIMIT: int(1, 10_000).default(5)
    .describe('Manual refreshes one user may start per `REFRESH_WINDOW_SECONDS`, shared by every API process (429 `rate_limited` with `Retry-After` past it).'),
  REFRESH_WINDOW_SECONDS: int(1, 86_400).default(300).describe('The sliding window of `REFRESH_LIMIT`, in seconds.'),
  PACKAGE_LIMIT: int(1, 10_000).default(20)
    .describe('Package requests (`POST /api/documents/:id/package`) one user may make per `PACKAGE_WINDOW_SECONDS`, over all documents (429 `rate_limited` past it). Each builds, stores and publishes the essential package, so the limit bounds that work and the events it leaves in Redis.'),
  PACKAGE_WINDOW_SECONDS: int(1, 86_400).default(300).describe('The sliding window of `PACKAGE_LIMIT`, in seconds.'),
  MAX_MEMBERS_PER_DOCUMENT: int(1, 10_000).default(50)
    .describe('Members one document may have besides its owner; adding one more answers 409 `member_limit_reached`.'),
  MAX_QUEUED_CHAPTERS_PER_USER: int(1, 10_000_000).default(20_000)
    .describe('Chapters one user may have queued or running (uploads still processing, chapters without an outcome). An upload that would pass it is refused, 429 `rate_limited`, unless the user has nothing queued: one document within the size and chapter limits always goes in.'),
  MAX_UPLOADS_IN_FLIGHT_PER_USER: int(1, 100_000).default(50)
    .describe('Uploads one user may have processing at once (429 `rate_limited` past it, unless nothing is queued).'),
  USER_REQUEST_CONCURRENCY: int(1, 10_000).default(4)
    .describe("Requests of one user an API process runs at once; more wait their turn, before their bodies are read. A page's usual burst barely waits, and a user firing dozens of heavy requests holds a few slices of the event loop, not all of them."),
  USER_REQUEST_QUEUE: int(0, 100_000).default(64)
    .describe('Requests of one user that may wait for a turn in one API process (429 `rate_limited` past it).'),
  OUTBOX_FAST_PATH: onOff('on')
    .describe("`on`: an API process publishes the events and enqueues the jobs of its own saves and package requests right after they commit, and the outbox relay sends only what that missed (a crash, Redis down). `off`: every row waits for the relay; kept to compare the two."),
  ADMIN_USERS: list().describe('Users (token `sub`s, comma-separated) who may open the Bull Board at `/admin/queues`.').meta({ defaultText: 'none' }),
  ADMIN_SESSION_TTL_SECONDS: int(60, 7 * 86_400).default(8 * 3600)
    .describe('How long a Bull Board sign-in (`/admin/queues?token=<jwt>`, an opaque session kept in Redis) lasts, in seconds. Default 8 hours.'),
  TRUST_PROXY: onOff('off')
    .describe("`on` behind a TLS-terminating proxy that sets `X-Forwarded-Proto`: a request it marks `https` counts as https (the board's cookie gets `Secure`). `off`: the header is ignored, as any client could send it."),
};

const gatewayVariables = {
  SOCKET_MAX_SUBSCRIPTIONS: int(1, 100_000).default(100)
    .describe('Documents one socket may watch at once (`too_many_subscriptions` past it).'),
  SOCKET_RATE_LIMIT: int(1, 100_000).default(20)
    .describe('Messages per second one socket may send on average; past it the ack says `rate_limited`.'),
  SOCKET_RATE_BURST: int(1, 1_000_000).default(120)
    .describe('Messages one socket may send at once above the rate: enough to resume `SOCKET_MAX_SUBSCRIPTIONS` documents after a reconnect. A socket that keeps going about this many past its limit is disconnected and its user refused for 10 s.'),
  SOCKET_MAX_MESSAGE_BYTES: int(256, 100 * 1024 * 1024).default(64 * 1024)
    .describe("Largest socket message, in bytes (Socket.IO's `maxHttpBufferSize`); a bigger one closes the socket. Default 64 KiB."),
  SOCKET_MAX_PER_USER: int(1, 1_000_000).default(20)
    .describe('Sockets one user may hold open at once, across every gateway (handshake `too_many_sockets` past it): several devices and browsers (the SDK shares one socket per browser), with room for reconnects.'),
  SOCKET_CLAIM_TTL_MS: int(1000, 600_000).default(30_000)
    .describe("How long a gateway's claim on one of its sockets' slots lasts unless it renews it (each gateway renews every third of this), so a gateway that died frees its users' slots within this time."),
  PRESENCE_TTL_MS: int(1000, 600_000).default(20_000)
    .describe("How long a socket's presence entry (who has a document open) lasts unless its gateway renews it. A user whose gateway died drops out of every other gateway's lists within this plus `PRESENCE_RENEW_MS` (25 s by default); one who unsubscribes or disconnects drops out at once."),
  PRESENCE_RENEW_MS: int(100, 600_000).default(5000)
    .describe('How often each gateway renews its sockets\' presence entries and prunes lapsed ones (a dead gateway\'s). Keep it well under `PRESENCE_TTL_MS`: an entry missing about TTL/RENEW renewals in a row lapses.'),
};

const workerVariables = {
  WORKER_CONCURRENCY: int(1, 1000).default(32).describe('Jobs one worker process runs at once; the chapters of runs (`CHAPTERS_PER_JOB`) share as many slots of their own.'),
  JOB_LOCK_MS: int(5000, 600_000).default(30_000)
    .describe("A worker's lock on a running job, renewed while it runs (BullMQ's `lockDuration`): a job whose worker died or froze runs again elsewhere once it expires (checked as often, BullMQ's `stalledInterval`)."),
  AI_PROVIDER: z.enum(['builtin', 'openai']).default('builtin')
    .describe('`builtin` (offline and deterministic: extractive summaries, hashed n-gram embeddings) or `openai` (any OpenAI-compatible endpoint).'),
  AI_BASE_URL: z.url().default('https://api.openai.com/v1').describe('The OpenAI-compatible endpoint, for `AI_PROVIDER=openai`.'),
  AI_API_KEY: z.string().optional().describe('The endpoint\'s API key; required when `AI_PROVIDER=openai`.'),
  AI_MODEL: z.string().min(1).default('gpt-4o-mini').describe('The model that writes summaries, for `AI_PROVIDER=openai`.'),
  AI_EMBED_MODEL: z.string().min(1).default('text-embedding-3-small').describe('The embedding model, for `AI_PROVIDER=openai`.'),
  AI_SIMULATED_LATENCY_MS: int(0, 600_000).default(0)
    .describe("Delay added to each builtin AI call, standing in for a real model's latency."),
  WRITE_BATCH_MAX_ROWS: int(1, 10_000).default(500).describe('Batched writer: rows per statement at most.'),
  WRITE_QUEUE_MAX_ROWS: int(1, 1_000_000).default(5000).describe('Batched writer: pending rows before producers wait (backpressure).'),
  INGEST_WINDOW_PER_USER: int(1, 10_000).default(64)
    .describe("Chapter jobs one user's uploads keep waiting in the queue, shared among the user's documents in flight: each chapter job queues the next as it starts, so documents interleave and another writer's document waits behind at most this many of each user's chapters. The default is two per worker slot at the default concurrency."),
  CHAPTERS_PER_JOB: int(1, 64).default(16)
    .describe("Chapters one chapter job takes at most, in a large upload: an upload of N chapters gets runs of min(this, N / 16) consecutive chapters per job (a document under 32 chapters keeps one job per chapter), which divides the queue's per-job cost. A chapter that fails inside a run gets a job of its own. `1`: one job per chapter."),
  JOB_RETENTION_DAYS: z.coerce.number().min(0).max(3650).default(30)
    .describe("Finished jobs' rows, and BullMQ's own completed and failed jobs, older than this many days are deleted by housekeeping."),
  HOUSEKEEPING_INTERVAL_MS: int(1000, 7 * 24 * 3600_000).default(3600_000)
    .describe('How often housekeeping runs (a BullMQ job scheduler, one per deployment). Default hourly.'),
  JOB_RECONCILE_INTERVAL_MS: int(1000, 24 * 3600_000).default(30_000)
    .describe('How often `jobs` rows left open by a process that died (queued or processing, unchanged this long) are checked against BullMQ; a job scheduler runs it.'),
  CHAPTER_HISTORY_KEEP: int(1, 1_000_000).default(50)
    .describe('Latest versions of each chapter always kept in its history (`chapter_versions`).'),
  CHAPTER_HISTORY_HOURLY_DAYS: int(1, 36_500).default(30)
    .describe('Beyond the latest `CHAPTER_HISTORY_KEEP`, the last version saved in each UTC hour is kept for this many days; housekeeping deletes the rest. By default at most 50 + 24 × 30 = 770 versions per chapter.'),
};

const jobsAndEventsVariables = {
  CHAPTER_ATTEMPTS: int(1, 50).default(3).describe('Attempts per chapter job before the chapter is marked failed.'),
  RETRY_BACKOFF_MS: int(1, 3_600_000).default(1000).describe('First retry delay; each later one doubles.'),
  JOB_ATTEMPTS: z.string().default('')
    .transform((v) => v.split(',').map((p) => p.trim()).filter(Boolean).map((p) => p.split('=').map((x) => x.trim())))
    .refine((pairs) => pairs.every(([k, n]) => (JOB_NAMES as readonly string[]).includes(k!) && /^\d{1,2}$/.test(n ?? '') && Number(n) >= 1),
      `type=n pairs, comma-separated, n from 1 to 99; types: ${JOB_NAMES.join(', ')}`)
    .transform((pairs) => Object.fromEntries(pairs.map(([k, n]) => [k, Number(n)])) as Partial<Record<JobName, number>>)
    .describe('Attempts per job type over the defaults (chapter jobs `CHAPTER_ATTEMPTS`; ingest and finalize 5; packages, artifacts and refreshes 3), as `type=n` pairs: `package.build=5,document.refresh=2`. Retries back off exponentially from `RETRY_BACKOFF_MS`.')
    .meta({ defaultText: 'none' }),
  JOB_TRACKING: onOff('on').describe('Writes a `jobs` row for every job; `off` only to measure what tracking costs.'),
  EVENT_STREAM_MAXLEN: int(10, 1_000_000).default(2000).describe('Events kept per document for `since` replay (approximate).'),
  EVENT_HISTORY_TTL_SECONDS: int(60, 3650 * 86_400).default(7 * 86_400)
    .describe("Seconds a document's event history and live state stay in Redis after its last event. A client that comes back after that gets a fresh snapshot. Default 7 days."),
  OUTBOX_POLL_MS: int(10, 600_000).default(1000)
    .describe('How often the outbox relay looks for rows when no NOTIFY woke it (after a Redis outage, a missed notification), and its pause after Redis refused.'),
  NOTIFICATION_LIMIT: int(1, 100_000).default(20)
    .describe("Notifications about one document that one user receives per `NOTIFICATION_WINDOW_SECONDS` (sliding); the excess is dropped. The default leaves room for an owner's busiest normal use (five refreshes and a few packages in ten minutes)."),
  NOTIFICATION_WINDOW_SECONDS: int(1, 86_400).default(600)
    .describe('The sliding window of `NOTIFICATION_LIMIT`, in seconds. Default 10 minutes.'),
};

/** The variables by role, in the order docs/configuration.md lists them. */
export const CONFIG_GROUPS = [
  { title: 'Every process', intro: 'Where a process listens, what it connects to, whom it trusts and how it logs. Every role reads these.', variables: processVariables },
  { title: 'Process layout', intro: 'How `npm start` without `--role` lays out the roles.', variables: layoutVariables },
  { title: 'API role', intro: 'What one user may ask of the REST API, when edits refresh derived artifacts, and the operator\'s Bull Board.', variables: apiVariables },
  { title: 'Gateway role', intro: 'What one socket and one user may do on the Socket.IO gateway.', variables: gatewayVariables },
  { title: 'Worker role', intro: 'How the workers run jobs, call the AI provider, write results and keep house.', variables: workerVariables },
  { title: 'Jobs and events', intro: 'Retries, event history and notifications: read by every role that enqueues jobs or publishes events.', variables: jobsAndEventsVariables },
] as const;

/** The environment as validated, variable by variable (server/config.ts maps it to the Config shape). */
export const envSchema = z.object({
  ...processVariables,
  ...layoutVariables,
  ...apiVariables,
  ...gatewayVariables,
  ...workerVariables,
  ...jobsAndEventsVariables,
});
