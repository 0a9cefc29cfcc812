import type { ChapterText, SaveOp, SaveResult } from './autosave-queue.ts';

/** Who may do what with a chapter, as `GET /api/chapters/:id` says. */
export type ChapterAccess = 'owner' | 'editor' | 'viewer';

/** A chapter read for writing: its text at a version, and the reader's access. */
export interface ChapterForWriting extends ChapterText {
  access: ChapterAccess;
}

/** Until the server says otherwise (Retry-After), a 429 is tried again after this long. */
const DEFAULT_RETRY_AFTER_MS = 1000;

/**
 * The chapter calls the writing view makes. A request that never got an
 * answer (the network is away, the server is unreachable, a 502/503/504 from
 * a proxy or a dependency) is "offline": the edit is kept and sent again.
 */
export function createChapterApi(token: string) {
  const headers = { authorization: `Bearer ${token}` };

  async function read(chapterId: string): Promise<ChapterForWriting | 'offline' | { error: string }> {
    if (browserOffline()) return 'offline';
    let res: Response;
    try {
      res = await fetch(`/api/chapters/${encodeURIComponent(chapterId)}`, { headers, cache: 'no-store' });
    } catch {
      return 'offline';
    }
    if (unreachable(res.status)) return 'offline';
    const body = (await res.json().catch(() => undefined)) as
      | { chapter?: { version: number; content: string }; access?: ChapterAccess; error?: { message?: string } }
      | undefined;
    if (!res.ok || !body?.chapter) return { error: body?.error?.message ?? `The chapter could not be read (${res.status}).` };
    return { version: body.chapter.version, content: body.chapter.content, access: body.access ?? 'viewer' };
  }

  async function save(chapterId: string, op: SaveOp): Promise<SaveResult> {
    if (browserOffline()) return { kind: 'offline' };
    let res: Response;
    try {
      res = await fetch(`/api/chapters/${encodeURIComponent(chapterId)}`, {
        method: 'PATCH',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ base_version: op.baseVersion, content: op.content, op_id: op.opId }),
      });
    } catch {
      return { kind: 'offline' };
    }
    if (unreachable(res.status)) return { kind: 'offline' };
    const body = (await res.json().catch(() => undefined)) as
      | { chapter?: { version: number }; current?: ChapterText; error?: { code?: string; message?: string; details?: { limit_bytes?: number } } }
      | undefined;
    if (res.ok && body?.chapter) return { kind: 'saved', version: body.chapter.version };
    if (res.status === 409 && body?.current) return { kind: 'conflict', current: body.current };
    if (res.status === 429) return { kind: 'rate_limited', retryAfterMs: retryAfter(res.headers.get('retry-after')) };
    return { kind: 'error', message: saveErrorText(res.status, body?.error) };
  }

  return { read, save };
}

export type ChapterApi = ReturnType<typeof createChapterApi>;

/** The browser knows it has no network: no request is tried (the `online` event brings the page back). */
function browserOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false;
}

function unreachable(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

function retryAfter(header: string | null): number {
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_RETRY_AFTER_MS;
}

function saveErrorText(status: number, error: { message?: string; details?: { limit_bytes?: number } } | undefined): string {
  if (status === 413) {
    const limit = error?.details?.limit_bytes;
    return `This chapter is too long to save${limit ? ` (the limit is ${Math.floor(limit / 1024).toLocaleString()} KiB)` : ''}: split it or shorten it.`;
  }
  if (status === 403) return 'You can read this manuscript but not edit it.';
  if (status === 404) return 'This chapter no longer exists.';
  return error?.message ?? `Not saved (${status}).`;
}
