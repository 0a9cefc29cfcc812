/**
 * Save → `chapter.updated` through a transaction-mode PgBouncer against a
 * direct PostgreSQL connection, in one run: two Heralds (api + gateway in
 * this process) on the bench database, one with `DATABASE_URL` at a private
 * PgBouncer and `DATABASE_DIRECT_URL` direct, one direct only. Rounds
 * alternate between them. Each save is timed from the request to its event
 * on a watching socket; every event is also checked for a duplicate (the
 * same version or seq twice).
 */
import type { Herald } from '../../server/herald.ts';
import type { DocumentEvent } from '../../realtime/events.ts';
import { startPgBouncer } from '../support/pgbouncer.ts';
import { connectClient, type RecordingClient } from '../support/socket.ts';
import { postJson, startBenchHerald, type BenchContext } from './harness.ts';
import { novel } from './prose.ts';
import { median, summarize, type Figure } from './stats.ts';

export interface PoolerBenchOptions {
  rounds: number;
  savesPerRound: number;
  /** Pause between saves, so each save's event is timed alone. */
  gapMs: number;
}

export const POOLER_GOAL_RATIO = 1.2;

interface Target {
  name: 'direct' | 'pgbouncer';
  herald: Herald;
  client: RecordingClient;
  token: string;
  documentId: string;
  chapterId: string;
  version: number;
  samples: number[];
}

export async function benchPooler(ctx: BenchContext, options: PoolerBenchOptions): Promise<Figure[]> {
  const bouncer = await startPgBouncer();
  ctx.onCleanup(() => bouncer.stop());
  const targets: Target[] = [];
  try {
    for (const name of ['direct', 'pgbouncer'] as const) {
      const env: Record<string, string> = name === 'pgbouncer' ? { DATABASE_URL: bouncer.urlFor(ctx.databaseUrl), DATABASE_DIRECT_URL: ctx.databaseUrl } : {};
      const herald = await startBenchHerald(ctx, { roles: ['api', 'gateway'], prefix: ctx.scenarioPrefix(`pooler-${name}`), env });
      const token = await ctx.token(`pooler-${name}`);
      const { document, chapters } = await postJson<{ document: { id: string }; chapters: { id: string }[] }>(
        `${herald.url}/api/documents`,
        token,
        JSON.stringify({ title: `Pooler ${name}`, content: novel(1, 300) }),
      );
      const client = await connectClient(herald.url, token);
      await client.subscribe({ document_id: document.id });
      targets.push({ name, herald, client, token, documentId: document.id, chapterId: chapters[0]!.id, version: 1, samples: [] });
    }
    for (let round = 0; round < options.rounds; round++) {
      // Alternate which goes first, so neither always follows the other's leftovers.
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) await saveRound(t, options);
    }
    const [direct, pooled] = targets as [Target, Target];
    const duplicates = targets.map((t) => ({ name: t.name, ...countDuplicates(t) }));
    const ratio = median(pooled.samples) / median(direct.samples);
    const pooledDuplicates = duplicates.find((d) => d.name === 'pgbouncer')!;
    return [
      {
        figure: '15. Save to push through PgBouncer',
        setup:
          `PATCH /api/chapters/:id → chapter.updated on a watching socket, ${options.rounds} alternated rounds of ${options.savesPerRound} saves per setup; ` +
          'api+gateway in the bench process; DATABASE_URL at a private PgBouncer (transaction mode) with DATABASE_DIRECT_URL for LISTEN and migrations, against a direct DATABASE_URL',
        latency: summarize(pooled.samples),
        goal: { text: `p50 ≤ ${POOLER_GOAL_RATIO}× direct, no duplicate event`, met: ratio <= POOLER_GOAL_RATIO && pooledDuplicates.versions + pooledDuplicates.seqs === 0 },
        baseline: { label: 'direct p50', amount: median(direct.samples), unit: 'ms', ratio },
        detail: { direct: summarize(direct.samples), duplicates },
      },
    ];
  } finally {
    for (const t of targets) t.client.close();
  }
}

async function saveRound(t: Target, options: PoolerBenchOptions): Promise<void> {
  for (let i = 0; i < options.savesPerRound; i++) {
    const expected = t.version + 1;
    const arrived = eventArrival(t, expected);
    const started = performance.now();
    const res = await fetch(`${t.herald.url}/api/chapters/${t.chapterId}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ base_version: t.version, content: `${novel(1, 300, t.version)} ${t.version}`, op_id: `pooler-${t.name}-${t.version}` }),
    });
    if (res.status !== 200) throw new Error(`autosave through ${t.name} answered ${res.status}: ${await res.text()}`);
    const version = ((await res.json()) as { chapter: { version: number } }).chapter.version;
    if (version !== expected) throw new Error(`autosave through ${t.name} made version ${version}, not ${expected}`);
    t.samples.push((await arrived) - started);
    t.version = version;
    await new Promise((r) => setTimeout(r, options.gapMs));
  }
}

/** When the socket receives `chapter.updated` for `version` (performance.now()); rejects after 10 s. */
function eventArrival(t: Target, version: number): Promise<number> {
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
function countDuplicates(t: Target): { versions: number; seqs: number } {
  const events = t.client.of(t.documentId);
  const versions = events.filter((e) => e.name === 'chapter.updated').map((e) => (e.event as DocumentEvent<'chapter.updated'>).version);
  const seqs = events.map((e) => e.event.seq);
  return { versions: versions.length - new Set(versions).size, seqs: seqs.length - new Set(seqs).size };
}
