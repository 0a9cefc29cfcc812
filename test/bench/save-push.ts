/**
 * Save → push, timed: a watched one-chapter document, autosaves one at a
 * time, each timed from the request to its `chapter.updated` on the
 * watching socket. Shared by the bench groups that compare two setups.
 */
import type { DocumentEvent } from '../../realtime/events.ts';
import { connectClient, type RecordingClient } from '../support/socket.ts';
import { postJson } from './harness.ts';
import { novel } from './prose.ts';

export interface WatchedChapter {
  name: string;
  url: string;
  client: RecordingClient;
  token: string;
  documentId: string;
  chapterId: string;
  version: number;
  samples: number[];
}

/** Uploads a one-chapter document as `token`'s user and subscribes a socket to it. */
export async function watchChapter(name: string, url: string, token: string): Promise<WatchedChapter> {
  const { document, chapters } = await postJson<{ document: { id: string }; chapters: { id: string }[] }>(
    `${url}/api/documents`,
    token,
    JSON.stringify({ title: `Watched (${name})`, content: novel(1, 300) }),
  );
  const client = await connectClient(url, token);
  await client.subscribe({ document_id: document.id });
  return { name, url, client, token, documentId: document.id, chapterId: chapters[0]!.id, version: 1, samples: [] };
}

/** `count` saves one after another, `gapMs` apart; each one's request → event time goes to `t.samples`. */
export async function timeSaves(t: WatchedChapter, count: number, gapMs: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const expected = t.version + 1;
    const arrived = eventArrival(t, expected);
    const started = performance.now();
    const res = await fetch(`${t.url}/api/chapters/${t.chapterId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ base_version: t.version, content: `${novel(1, 300, t.version)} ${t.version}`, op_id: `pooler-${t.name}-${t.version}` }),
    });
    if (res.status !== 200) throw new Error(`autosave through ${t.name} answered ${res.status}: ${await res.text()}`);
    const version = ((await res.json()) as { chapter: { version: number } }).chapter.version;
    if (version !== expected) throw new Error(`autosave through ${t.name} made version ${version}, not ${expected}`);
    t.samples.push((await arrived) - started);
    t.version = version;
    await new Promise((r) => setTimeout(r, gapMs));
  }
}

/** When the socket receives `chapter.updated` for `version` (performance.now()); rejects after 10 s. */
function eventArrival(t: WatchedChapter, version: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      t.client.socket.off('chapter.updated', on);
      reject(new Error(`no chapter.updated for version ${version} through ${t.name} within 10 s`));
    }, 10_000);
    const on = (event: DocumentEvent<'chapter.updated'>) => {
      if (event.document_id !== t.documentId || event.version !== version) return;
      clearTimeout(timer);
      t.client.socket.off('chapter.updated', on);
      resolve(performance.now());
    };
    t.client.socket.on('chapter.updated', on);
  });
}

/** Events of the document seen more than once: by chapter version (chapter.updated) and by seq (any event). */
export function countDuplicates(t: WatchedChapter): { versions: number; seqs: number } {
  const events = t.client.of(t.documentId);
  const versions = events.filter((e) => e.name === 'chapter.updated').map((e) => (e.event as DocumentEvent<'chapter.updated'>).version);
  const seqs = events.map((e) => e.event.seq);
  return { versions: versions.length - new Set(versions).size, seqs: seqs.length - new Set(seqs).size };
}
