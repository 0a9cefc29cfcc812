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
}

export function documentKeys(prefix: string, documentId: string): DocumentKeys {
  const base = `${prefix}:{doc:${documentId}}`;
  return { state: `${base}:state`, events: `${base}:events`, channel: `${base}:live` };
}
