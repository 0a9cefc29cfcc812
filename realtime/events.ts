/**
 * Herald's socket event contract (CONTRACT.md section 5), shared by the API,
 * the workers, the gateway and the browser client. A renamed field here breaks
 * the build of every side at once.
 */

import type { ErrorBody } from '../domain/errors.ts';
import type { ChapterStatus, DocumentKind, DocumentStatus, JobStatus, PackageStage } from '../domain/vocabulary.ts';

export type { ErrorBody } from '../domain/errors.ts';
export type { ChapterStatus, DocumentKind, DocumentStatus, JobStatus, PackageStage } from '../domain/vocabulary.ts';


/** Fields every document event carries. `seq` rises by exactly 1 per document. */
export interface EventEnvelope {
  document_id: string;
  /** Per-document sequence number, gap-free within one epoch. */
  seq: number;
  /** ISO 8601 time the event was published. */
  at: string;
  /**
   * Present only on an event cut to fit MAX_EVENT_BYTES (64 KiB): the fields
   * that were cut, as paths (`summary`, `error`, `job.result`). A cut string
   * ends in `…`; a cut list or object is null. The whole value is read over
   * REST (`GET /api/chapters/:id`, `GET /api/jobs/:id`). A big package is
   * abridged instead (see PackagePayload).
   */
  truncated?: string[];
}

/** A chapter moved through queued → processing → completed | failed; completed/failed is always its last. */
export interface ChapterStatusPayload {
  chapter_id: string;
  index: number;
  status: ChapterStatus;
  /** 0..100 */
  progress: number;
  summary?: string;
  error?: string;
  /** The chapter version the result was computed from. */
  version?: number;
}

/** Counts over the document's chapters; a status other than `processing` follows every chapter's last status. */
export interface DocumentProgressPayload {
  completed: number;
  failed: number;
  total: number;
  status: DocumentStatus;
}

/**
 * A package was built. The whole package when its event fits in 64 KiB;
 * otherwise abridged: `abridged: true` and only `stage`, `document_id`,
 * `title`, `kind`, `word_count`, `reading_minutes`, `chapter_count`,
 * `description` and `built_at` (no chapter list, characters, outline,
 * character sheets or key terms). The client then reads the whole one with
 * `GET /api/documents/:id/package`; the SDK's document store does that by
 * itself and replaces the abridged content once it arrives.
 */
export interface PackagePayload {
  package: Record<string, unknown> & {
    stage: PackageStage;
    /** True when the event carries the package without its bulky fields. */
    abridged?: boolean;
  };
}

/** A collaborator saved a chapter. */
export interface ChapterUpdatedPayload {
  chapter_id: string;
  version: number;
  by: string;
}

export interface ArtifactStalePayload {
  artifact: 'outline' | 'character';
  name?: string;
  dirty_count: number;
}

export interface ArtifactRefreshedPayload {
  artifact: 'summary' | 'outline' | 'character';
  name?: string;
  chapter_id?: string;
  version?: number;
}

/**
 * A background job as `GET /api/jobs/:id` and `job.update` show it. A retry
 * that is due puts `status` back to `queued` with the failed attempt's
 * `error`; `failed` is the end after the last attempt; `cancelled` is never
 * followed by anything.
 */
export interface JobView {
  /** UUID: the BullMQ id when that is one (an upload's `job_id`), else derived from queue and BullMQ id. */
  id: string;
  /** The job contract's name (`chapter.process`, `document.refresh`, ...). */
  type: string;
  queue: string;
  status: JobStatus;
  /** `urgent`, `high`, `normal` or `low`. */
  priority: string;
  /** 0..100 */
  progress: number;
  document_id: string | null;
  /** The chapter a chapter job works on (null for other jobs), so a client can find and retry a chapter's job. */
  chapter_id: string | null;
  /** Who started the work, when known. */
  user_id: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  result: unknown;
  error: string | null;
  attempts: number;
  max_attempts: number;
}

/**
 * A job of the document changed status (every change of document-level jobs;
 * a chapter job's failure, cancel and retry; its routine transitions are
 * `chapter.status`).
 */
export interface JobPayload {
  /** Herald always sends a whole JobView; the looser type lets tools (the push-latency benchmark) publish synthetic ones. */
  job: Partial<JobView> & Record<string, unknown>;
}

/** Payload of each document event, before the envelope is added. */
export interface DocumentEventPayloads {
  'chapter.status': ChapterStatusPayload;
  'document.progress': DocumentProgressPayload;
  'package.essential': PackagePayload;
  'package.full': PackagePayload;
  'chapter.updated': ChapterUpdatedPayload;
  'artifact.stale': ArtifactStalePayload;
  'artifact.refreshed': ArtifactRefreshedPayload;
  'job.update': JobPayload;
}

export type DocumentEventName = keyof DocumentEventPayloads;
export type DocumentEvent<N extends DocumentEventName = DocumentEventName> = EventEnvelope & DocumentEventPayloads[N];

/**
 * Every document event, each exactly once: a record over DocumentEventName
 * (`satisfies`), so an event added to DocumentEventPayloads and not listed
 * here, or listed here and not declared, fails to compile. The SDK
 * registers one handler per name.
 */
export const DOCUMENT_EVENTS = {
  'chapter.status': true,
  'document.progress': true,
  'package.essential': true,
  'package.full': true,
  'chapter.updated': true,
  'artifact.stale': true,
  'artifact.refreshed': true,
  'job.update': true,
} as const satisfies { readonly [N in DocumentEventName]: true };

/** The names of every document event, in the order the contract lists them. */
export const DOCUMENT_EVENT_NAMES = Object.keys(DOCUMENT_EVENTS) as readonly (keyof typeof DOCUMENT_EVENTS)[];

/**
 * Kinds of notification: a document finished ingesting, its full package is
 * ready, a job failed after all its retries, a manual refresh finished.
 * `PUT /api/notifications/preferences {kinds}` chooses which are pushed
 * (every kind is stored in the inbox regardless).
 */
export const NOTIFICATION_KINDS = ['document.ingested', 'package.ready', 'job.failed', 'refresh.done'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/**
 * A notification, sent to every socket of one user (whatever documents it
 * watches). It is an inbox, not a broadcast: each is stored first, and a
 * socket that connects receives the user's unread notifications newer than
 * the one its client names in the handshake, `io(url, { auth: { token,
 * notifications_after: <id of the last notification the client has> } })`
 * (every unread one, up to 100, without it), oldest first, before any live
 * one. A client keeps the newest `id` it has seen and passes it on every
 * (re)connect; `id` also de-duplicates a notification that arrives both
 * live and as missed. `POST /api/notifications/:id/read` marks one read.
 */
export interface NotificationPayload {
  /** UUID. */
  id: string;
  kind: NotificationKind | (string & {});
  title: string;
  body: string;
  document_id?: string;
  /** ISO 8601 time it was stored. */
  at: string;
  /** Whether the user has marked it read. */
  read?: boolean;
}

/** How a user's list of documents changed: one was uploaded, shared with them, or left it (deleted, unshared, or they left). */
export const DOCUMENT_LIST_CHANGES = ['created', 'shared', 'removed'] as const;
export type DocumentListChange = (typeof DOCUMENT_LIST_CHANGES)[number];

/**
 * A document entered or left the user's list (`GET /api/documents`), sent
 * to every socket of the user, the one whose request made the change
 * included, so every tab and device can update its list. Not kept: a
 * socket that was not connected reads the list anew. `shared` is also sent
 * when the owner changes a member's role.
 */
export interface DocumentsChangedPayload {
  document_id: string;
  change: DocumentListChange;
}

/** A chapter as the snapshot and `GET /api/documents/:id` show it. */
export interface ChapterView {
  id: string;
  index: number;
  title: string;
  status: ChapterStatus;
  progress: number;
  summary: string | null;
  error: string | null;
  version: number;
  /** The chapter version `summary` was computed from, or null. */
  summary_version: number | null;
  word_count: number;
}

/** The document as `GET /api/documents/:id` and the subscribe snapshot show it. */
export interface DocumentSnapshot {
  document: {
    id: string;
    title: string;
    kind: DocumentKind;
    owner_id: string;
    status: DocumentStatus;
    word_count: number;
    created_at: string;
    updated_at: string;
    progress: DocumentProgressPayload;
  };
  chapters: ChapterView[];
  package: { stage: PackageStage | null };
}

export interface SubscribeRequest {
  document_id: string;
  /** Last seq the client holds; events after it are replayed. */
  since?: number;
  /** Epoch the client's seq belongs to. */
  epoch?: string;
}

export type SubscribeAck =
  | {
      ok: true;
      seq: number;
      epoch: string;
      recovered?: boolean;
      snapshot?: DocumentSnapshot;
      /** Who has the document open now, this socket's user included (see PresencePayload). */
      presence: PresenceUser[];
    }
  | { ok: false; error: ErrorBody };

export type UnsubscribeAck = { ok: true } | { ok: false; error: ErrorBody };

/** One person with a document open. */
export interface PresenceUser {
  user_id: string;
  /** The token's `name` claim, else the user id. */
  name: string;
  /** The chapter they are editing now (the one their socket named last, of all their sockets), or null: only reading. */
  chapter_id: string | null;
}

/**
 * Who has a document open now: one entry per user however many sockets
 * they have on it, sorted by user id. State, not history: no `seq`, not
 * kept in the event stream, sent to the document's watchers whenever it
 * changes (and in the `subscribe` ack). A user who unsubscribes or
 * disconnects drops out within a second; one whose gateway died, once
 * its entries lapse (PRESENCE_TTL_MS + PRESENCE_RENEW_MS, 25 s by default).
 */
export interface PresencePayload {
  document_id: string;
  users: PresenceUser[];
}

/** The chapter this socket's user is editing now in a document it has subscribed; null: only reading. */
export interface PresenceRequest {
  document_id: string;
  chapter_id: string | null;
}

export type PresenceAck = { ok: true } | { ok: false; error: ErrorBody };

type DocumentEventListeners = {
  [N in DocumentEventName]: (event: DocumentEvent<N>) => void;
};

/** Sent once, just before the gateway disconnects a socket whose token's `exp` has passed. */
export interface AuthExpiredPayload {
  code: 'token_expired';
  message: string;
  /** ISO 8601 time the token expired. */
  expired_at: string;
}

/** Events the gateway emits. */
export interface ServerToClientEvents extends DocumentEventListeners {
  notification: (notification: NotificationPayload) => void;
  /** A document entered or left the user's list (to every socket of the user). */
  'documents.changed': (payload: DocumentsChangedPayload) => void;
  /** Who has a subscribed document open, whenever that changes (not a document event: no seq). */
  presence: (payload: PresencePayload) => void;
  /**
   * The socket's token expired: the gateway disconnects the socket right
   * after this. Reconnect with a fresh token (the SDK's `setToken()` or its
   * `refreshToken` option) and resume with `since`; nothing is lost.
   */
  'auth.expired': (payload: AuthExpiredPayload) => void;
}

/** Events a client sends, each with an acknowledgement. */
export interface ClientToServerEvents {
  subscribe: (request: SubscribeRequest, ack: (response: SubscribeAck) => void) => void;
  unsubscribe: (request: { document_id: string }, ack: (response: UnsubscribeAck) => void) => void;
  /** Names the chapter this user is editing in a subscribed document; `not_found` for a document the socket has not subscribed. */
  presence: (request: PresenceRequest, ack: (response: PresenceAck) => void) => void;
}

/** Per-socket data the gateway keeps (set by the handshake). */
export interface SocketData {
  userId: string;
  userName: string | null;
  /** The token's `exp` in seconds, or null; the socket is told `auth.expired` and disconnected then. */
  expiresAt: number | null;
}
