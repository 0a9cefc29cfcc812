/**
 * Reads a document's whole package over REST (`GET /api/documents/:id/package`),
 * for a store that received it abridged (an event carries at most 64 KiB).
 * Resolves undefined when there is no package (404); rejects on anything else.
 */
export type PackageLoader = (documentId: string) => Promise<Record<string, unknown> | undefined>;

export interface PackageLoaderOptions {
  /** The API's base URL, read at each call (a client may move to another gateway). */
  apiUrl: () => string;
  /** The current token, read at each call (it may have been refreshed). */
  token: () => string;
}

export function createPackageLoader(options: PackageLoaderOptions): PackageLoader {
  return async (documentId) => {
    let base = options.apiUrl();
    while (base.endsWith('/')) base = base.slice(0, -1);
    const res = await fetch(`${base}/api/documents/${encodeURIComponent(documentId)}/package`, {
      headers: { authorization: `Bearer ${options.token()}` },
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`GET package answered ${res.status}`);
    return ((await res.json()) as { package: Record<string, unknown> }).package;
  };
}
