import type { DocumentKind, DocumentSnapshot, DocumentStatus } from '../client/index.ts';

/** A document as `GET /api/documents` lists it. */
export interface DocumentSummary {
  id: string;
  title: string;
  status: DocumentStatus;
  chapter_count: number;
  updated_at: string;
}

/** A job as `GET /api/documents/:id/jobs` lists it. */
export interface JobView {
  id: string;
  type: string;
  /** The chapter a chapter job works on; null for other jobs. */
  chapter_id: string | null;
  status: 'queued' | 'processing' | 'completed' | 'failed' | 'cancelled';
  progress: number;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  error: string | null;
  attempts: number;
  max_attempts: number;
}

/** A notification as `GET /api/notifications` lists it. */
export interface NotificationView {
  id: string;
  kind: string;
  title: string;
  body: string;
  document_id?: string;
  at: string;
  read?: boolean;
}

/** What `POST /api/documents` answers. */
export interface UploadResult {
  document: DocumentSnapshot['document'] & { id: string; title: string };
  chapters: { id: string; index: number; title: string; status: 'queued' }[];
}

/** The REST calls the page makes, with the page's token. Errors carry the server's message; a 401 also calls `onUnauthenticated`. */
export function createApi(token: string, onUnauthenticated: () => void = () => {}) {
  async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    const res = await fetch(path, { ...init, headers });
    const body = res.status === 204 ? undefined : await res.json().catch(() => undefined);
    if (res.status === 401) onUnauthenticated();
    if (!res.ok) {
      const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw Object.assign(new Error(error?.message ?? `${res.status} ${res.statusText}`), { status: res.status, code: error?.code });
    }
    return body as T;
  }
  return {
    upload: (input: { title: string; kind: DocumentKind; content: string }) =>
      call<UploadResult>('/api/documents', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) }),
    listDocuments: () => call<{ documents: DocumentSummary[] }>('/api/documents').then((r) => r.documents),
    /** The latest package, or undefined before there is one. */
    getPackage: (documentId: string) =>
      call<{ package: Record<string, unknown> }>(`/api/documents/${documentId}/package`).then(
        (r) => r.package,
        (error: { status?: number }) => (error.status === 404 ? undefined : Promise.reject(error)),
      ),
    /** Builds the essential package now (the full one follows as `package.full`). */
    buildPackage: (documentId: string) =>
      call<{ package: Record<string, unknown> }>(`/api/documents/${documentId}/package`, { method: 'POST' }).then((r) => r.package),
    listJobs: (documentId: string) => call<{ jobs: JobView[] }>(`/api/documents/${documentId}/jobs?limit=50`).then((r) => r.jobs),
    retryJob: (jobId: string) => call<unknown>(`/api/jobs/${jobId}/retry`, { method: 'POST' }),
    cancelJob: (jobId: string) => call<unknown>(`/api/jobs/${jobId}`, { method: 'DELETE' }),
    listNotifications: () => call<{ notifications: NotificationView[]; unread: number }>('/api/notifications?limit=50'),
    markRead: (notificationId: string) => call<void>(`/api/notifications/${notificationId}/read`, { method: 'POST' }),
    isMuted: (documentId: string) => call<{ muted: boolean }>(`/api/documents/${documentId}/notifications`).then((r) => r.muted),
    setMuted: (documentId: string, muted: boolean) =>
      call<{ muted: boolean }>(`/api/documents/${documentId}/notifications`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ muted }),
      }),
  };
}

export type Api = ReturnType<typeof createApi>;
