import type { TestHerald } from './herald.ts';

export interface Uploaded {
  documentId: string;
  chapters: { id: string; index: number; title: string }[];
}

/** Uploads a manuscript as `userId` and returns the document and chapter ids; throws unless 202. */
export async function upload(h: TestHerald, userId: string, content: string, options: { title?: string; kind?: 'book' | 'screenplay' } = {}): Promise<Uploaded> {
  const res = await h.api(userId, '/api/documents', { method: 'POST', json: { title: options.title ?? 'Test', kind: options.kind ?? 'book', content } });
  if (res.status !== 202) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { document: { id: string }; chapters: Uploaded['chapters'] };
  return { documentId: body.document.id, chapters: body.chapters };
}

/** Shares the document with another user; throws unless 201. */
export async function share(h: TestHerald, ownerId: string, documentId: string, userId: string, role: 'editor' | 'viewer'): Promise<void> {
  const res = await h.api(ownerId, `/api/documents/${documentId}/members`, { method: 'POST', json: { user_id: userId, role } });
  if (res.status !== 201) throw new Error(`share answered ${res.status}: ${await res.text()}`);
}

/** PATCH /api/chapters/:id as `userId`; returns status and parsed body. */
export async function autosave(
  h: TestHerald,
  userId: string,
  chapterId: string,
  save: { base_version: number; content: string; op_id: string },
): Promise<{ status: number; body: any }> {
  const res = await h.api(userId, `/api/chapters/${chapterId}`, { method: 'PATCH', json: save });
  return { status: res.status, body: await res.json() };
}
