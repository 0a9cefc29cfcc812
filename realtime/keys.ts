/**
 * Redis names for one deployment. Every key and channel starts with the
 * configured prefix (pub/sub ignores the database number, so only a prefix
 * isolates deployments), and one document's keys share the hash tag
 * `{doc:<id>}`, so its publish script also runs on Redis Cluster.
 */
export interface DocumentKeys {
  state: string;
  events: string;
  channel: string;
  /** Sorted set of the outbox rows published lately (idempotency keys), scored by the seq each got. */
  published: string;
  /** Hash of the sockets that have the document open, one field per socket, and the user list last published (update-presence.lua). */
  presence: string;
}

export function documentKeys(prefix: string, documentId: string): DocumentKeys {
  const base = `${prefix}:{doc:${documentId}}`;
  return { state: `${base}:state`, events: `${base}:events`, channel: `${base}:live`, published: `${base}:published`, presence: `${base}:presence` };
}

/** One user's gateway keys. */
export interface UserKeys {
  /** Sorted set of the user's open sockets, `<gatewayId>:<socketId>`, scored by when each claim expires (ms). */
  sockets: string;
  /** Present while the user is cut off for flooding (its TTL is the wait). */
  cutoff: string;
}

/** A user's keys share the hash tag `{user:<id>}`, so one script can touch them together on Redis Cluster too. */
export function userKeys(prefix: string, userId: string): UserKeys {
  const base = `${prefix}:{user:${userId}}`;
  return { sockets: `${base}:sockets`, cutoff: `${base}:cutoff` };
}
