/**
 * A drill's steady load: uploads at a fixed pace, editors autosaving chapters
 * through PATCH /api/chapters/:id (retrying a save with the same op_id until
 * it gets an answer, as the editor does), and SDK clients watching every
 * accepted document. It records what was accepted and what clients saw.
 */
import { randomUUID } from 'node:crypto';
import { HeraldClient, type DocumentStore } from '../../realtime/client/index.ts';
import { novel } from '../bench/prose.ts';

/** One save the API accepted (200): the op and the version it produced. */
export interface AcceptedSave {
  opId: string;
  chapterId: string;
  version: number;
}

/** What one watched store went through. */
export interface StoreRecord {
  client: number;
  store: DocumentStore;
  /** Applied event seqs, with a reset marker (-1) before each wholesale replace. */
  seqs: number[];
  resets: string[];
  /** Every chapter.status a client saw, per chapter, in order. */
  statuses: Map<string, string[]>;
}

export interface LoadPlan {
  apiUrl: string;
  gatewayUrls: () => string[];
  token: string;
  /** Uploads to make, one every `uploadEveryMs`. */
  uploads: number;
  uploadEveryMs: number;
  chaptersPerUpload: number;
  /** Concurrent editors, each saving one chapter every `saveEveryMs`. */
  editors: number;
  saveEveryMs: number;
  /** SDK clients, each watching every accepted document. */
  watchers: number;
}

export interface Load {
  acceptedDocuments: string[];
  /** Uploads that got no 202 (refused while a dependency was down: nothing was written, the user retries). */
  refusedUploads: string[];
  acceptedSaves: AcceptedSave[];
  /** Op ids sent at least once (accepted or not). */
  attemptedOps: Set<string>;
  /** Saves given up on after the retry budget, with why. */
  abandonedSaves: string[];
  conflicts: number;
  saveRetries: number;
  clients: HeraldClient[];
  stores: StoreRecord[];
  /** Resolves when every upload was tried. */
  uploadsDone: Promise<void>;
  /** Stops the editors (waits for in-flight saves to get their answer) but keeps the watchers. */
  stopEditing(): Promise<void>;
  close(): void;
}

const SAVE_RETRY_BUDGET_MS = 90_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startLoad(plan: LoadPlan): Load {
  const load: Load = {
    acceptedDocuments: [],
    refusedUploads: [],
    acceptedSaves: [],
    attemptedOps: new Set(),
    abandonedSaves: [],
    conflicts: 0,
    saveRetries: 0,
    clients: [],
    stores: [],
    uploadsDone: Promise.resolve(),
    stopEditing: async () => {},
    close: () => {},
  };
  const headers = { authorization: `Bearer ${plan.token}`, 'content-type': 'application/json' };
  for (let i = 0; i < plan.watchers; i++) {
    const urls = plan.gatewayUrls();
    // Spread the clients over the gateways; each fails over to the others.
    const rotated = [...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)];
    load.clients.push(HeraldClient.connect({ urls: rotated, token: plan.token }));
  }
  const watch = (documentId: string) => {
    load.clients.forEach((client, i) => {
      const store = client.watch(documentId);
      const record: StoreRecord = { client: i, store, seqs: [], resets: [], statuses: new Map() };
      store.on('chapter.status', (e) => {
        const list = record.statuses.get(e.chapter_id) ?? [];
        list.push(e.status);
        record.statuses.set(e.chapter_id, list);
      });
      store.on('event', (_name, event) => record.seqs.push(event.seq));
      store.on('reset', (_state, reason) => {
        record.resets.push(reason);
        record.seqs.push(-1, store.seq);
      });
      load.stores.push(record);
    });
  };
  // Chapters the editors may pick: id → the version they believe current.
  const editable: { id: string; version: number }[] = [];

  load.uploadsDone = (async () => {
    for (let u = 0; u < plan.uploads; u++) {
      const started = Date.now();
      const title = `Drill ${u}`;
      try {
        const res = await fetch(`${plan.apiUrl}/api/documents`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ title, content: novel(plan.chaptersPerUpload, 120, u + 1) }),
          signal: AbortSignal.timeout(20_000),
        });
        const text = await res.text();
        if (res.status === 202) {
          const body = JSON.parse(text) as { document: { id: string }; chapters: { id: string }[] };
          load.acceptedDocuments.push(body.document.id);
          watch(body.document.id);
          // Editors work on the first document only, so the others complete through ingest alone (a save re-runs a chapter's summary).
          if (u === 0) for (const c of body.chapters) editable.push({ id: c.id, version: 1 });
        } else {
          load.refusedUploads.push(`${title}: ${res.status} ${text.slice(0, 120)}`);
        }
      } catch (error) {
        // No answer: the upload may or may not have been stored. Not counted as accepted.
        load.refusedUploads.push(`${title}: ${(error as Error).message}`);
      }
      await sleep(Math.max(0, plan.uploadEveryMs - (Date.now() - started)));
    }
  })();

  let editing = true;
  const save = async (chapter: { id: string; version: number }, n: number) => {
    const opId = randomUUID();
    const base = chapter.version;
    const deadline = Date.now() + SAVE_RETRY_BUDGET_MS;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      load.attemptedOps.add(opId);
      try {
        const res = await fetch(`${plan.apiUrl}/api/chapters/${chapter.id}`, {
          method: 'PATCH',
          headers,
          body: JSON.stringify({ base_version: base, content: `Chapter edit ${n}\n\nSaved by the drill, op ${opId}.`, op_id: opId }),
          signal: AbortSignal.timeout(10_000),
        });
        const body = (await res.json().catch(() => ({}))) as { chapter?: { version: number }; current?: { version: number } };
        if (res.status === 200 && body.chapter) {
          chapter.version = body.chapter.version;
          load.acceptedSaves.push({ opId, chapterId: chapter.id, version: body.chapter.version });
          return;
        }
        if (res.status === 409 && body.current) {
          // Someone else saved first: rebase on their version, as a new op.
          load.conflicts++;
          chapter.version = body.current.version;
          return;
        }
        if (res.status < 500 && res.status !== 429) {
          load.abandonedSaves.push(`${opId}: ${res.status} ${JSON.stringify(body).slice(0, 120)}`);
          return;
        }
      } catch {
        // No answer (timeout, connection refused): send the same op again.
      }
      load.saveRetries++;
      await sleep(Math.min(2000, 100 * 2 ** attempt));
    }
    load.abandonedSaves.push(`${opId}: no answer within ${SAVE_RETRY_BUDGET_MS / 1000} s`);
  };
  const editors = Array.from({ length: plan.editors }, async (_, e) => {
    let n = 0;
    while (editing) {
      const chapter = editable.length > 0 ? editable[(e * 7 + n * 13) % editable.length] : undefined;
      if (chapter) await save(chapter, n++);
      await sleep(plan.saveEveryMs);
    }
  });
  load.stopEditing = async () => {
    editing = false;
    await Promise.all(editors);
  };
  load.close = () => {
    editing = false;
    for (const c of load.clients) c.close();
  };
  return load;
}
