/**
 * The verdict of a drill, from PostgreSQL (what was stored) and the SDK
 * stores (what clients saw): every accepted document completes, every
 * accepted save is stored exactly once, every client ends gap-free or with a
 * fresh snapshot that matches the database, and no process needed a hand.
 */
import postgres from 'postgres';
import type { Deployment } from './deployment.ts';
import type { Load, StoreRecord } from './load.ts';

export interface Verdict {
  lines: string[];
  losses: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (bounded) for the system to settle, then checks everything. */
export async function verify(databaseUrl: string, load: Load, deployment: Deployment, settleMs: number): Promise<Verdict> {
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, connect_timeout: 10 });
  const losses: string[] = [];
  const lines: string[] = [];
  try {
    const docs = load.acceptedDocuments;
    const deadline = Date.now() + settleMs;
    let unfinished: { id: string; status: string; done: number; total: number }[] = [];
    for (;;) {
      unfinished = (await sql<{ id: string; status: string; done: number; total: number }[]>`
        select d.id, d.status, count(*) filter (where r.status = 'completed')::int as done, count(c.id)::int as total
        from documents d join chapters c on c.document_id = d.id left join chapter_results r on r.chapter_id = c.id
        where d.id = any(${docs}::uuid[]) group by d.id, d.status`).filter((d) => d.status !== 'completed' || d.done !== d.total);
      const found = (await sql<{ n: number }[]>`select count(*)::int as n from documents where id = any(${docs}::uuid[])`)[0]!.n;
      if (found !== docs.length) losses.push(`${docs.length - found} accepted document(s) missing from the database`);
      if (unfinished.length === 0 || Date.now() > deadline || found !== docs.length) break;
      await sleep(500);
    }
    // Every job ends, including those a fault interrupted (a killed worker's jobs run again once their lock expires).
    // A document can complete before that (an edit's summary refresh completes the chapter), so this is waited for on its own.
    let openJobs: { type: string; status: string; n: number }[] = [];
    for (;;) {
      openJobs = await sql<{ type: string; status: string; n: number }[]>`
        select type, status, count(*)::int as n from jobs
        where status in ('queued', 'processing') and type <> 'jobs.housekeeping' group by type, status`;
      if (openJobs.length === 0 || Date.now() > deadline) break;
      await sleep(500);
    }
    const jobCounts = await sql<{ status: string; n: number }[]>`
      select status, count(*)::int as n from jobs where type <> 'jobs.housekeeping' group by status order by status`;
    const failedJobs = await sql<{ type: string; error: string | null; attempts: number }[]>`
      select type, error, attempts from jobs where status = 'failed' and type <> 'jobs.housekeeping' order by completed_at limit 3`;
    const why = failedJobs.map((j) => `${j.type} after ${j.attempts} attempt(s): ${j.error?.slice(0, 120)}`).join('; ');
    lines.push(`jobs: ${jobCounts.map((r) => `${r.n} ${r.status}`).join(', ')}${why ? ` (failed: ${why})` : ''}`);
    for (const j of openJobs) losses.push(`${j.n} ${j.type} job(s) still ${j.status} after ${settleMs / 1000} s`);

    const chapters = (await sql<{ n: number }[]>`select count(*)::int as n from chapters where document_id = any(${docs}::uuid[])`)[0]!.n;
    lines.push(`documents: ${docs.length} accepted (${chapters} chapters), ${docs.length - unfinished.length} completed; ${load.refusedUploads.length} upload(s) refused while a dependency was down`);
    for (const d of unfinished) losses.push(`document ${d.id} did not complete: status ${d.status}, ${d.done}/${d.total} chapters completed`);

    const ops = [...load.attemptedOps];
    const stored = new Map<string, { n: number; versions: number[] }>();
    for (const row of await sql<{ op_id: string; n: number; versions: number[] }[]>`
      select op_id, count(*)::int as n, array_agg(version) as versions from chapter_versions where op_id = any(${ops}) group by op_id`) {
      stored.set(row.op_id, { n: row.n, versions: row.versions });
    }
    let exactlyOnce = 0;
    for (const s of load.acceptedSaves) {
      const row = stored.get(s.opId);
      if (!row) losses.push(`accepted save ${s.opId} (chapter ${s.chapterId} v${s.version}) is not stored`);
      else if (row.n !== 1) losses.push(`accepted save ${s.opId} stored ${row.n} times`);
      else if (row.versions[0] !== s.version) losses.push(`accepted save ${s.opId} answered v${s.version} but stored v${row.versions[0]}`);
      else exactlyOnce++;
    }
    for (const [op, row] of stored) if (row.n > 1 && !load.acceptedSaves.some((s) => s.opId === op)) losses.push(`save ${op} stored ${row.n} times`);
    const unanswered = ops.length - load.acceptedSaves.length - load.conflicts;
    lines.push(`saves: ${ops.length} sent, ${load.acceptedSaves.length} accepted, ${exactlyOnce} stored exactly once; ${load.conflicts} conflict(s) (409, rebased); ${load.saveRetries} retr${load.saveRetries === 1 ? 'y' : 'ies'} of an unanswered save with its op_id; ${load.abandonedSaves.length} abandoned${unanswered > 0 && load.abandonedSaves.length > 0 ? ` (${load.abandonedSaves.slice(0, 2).join('; ')})` : ''}`);
    for (const a of load.abandonedSaves) losses.push(`save abandoned: ${a}`);

    const versions = new Map((await sql<{ id: string; version: number }[]>`select id, version from chapters where document_id = any(${docs}::uuid[])`).map((r) => [r.id, r.version]));
    const clientDeadline = Date.now() + Math.min(settleMs, 60_000);
    let stale: string[] = [];
    for (;;) {
      stale = load.stores.map((r) => storeProblem(r, versions)).filter((p): p is string => p !== undefined);
      if (stale.length === 0 || Date.now() > clientDeadline) break;
      await sleep(500);
    }
    const gaps = load.stores.map(gapIn).filter((g): g is string => g !== undefined);
    const resets = load.stores.flatMap((r) => r.resets.slice(1));
    const byReason = Object.entries(resets.reduce<Record<string, number>>((acc, r) => ((acc[r] = (acc[r] ?? 0) + 1), acc), {}))
      .map(([r, n]) => `${n} ${r}`).join(', ');
    const events = load.stores.reduce((n, r) => n + r.seqs.filter((s) => s >= 0).length, 0);
    lines.push(`clients: ${load.clients.length} SDK clients × ${docs.length} documents = ${load.stores.length} stores; ${events} events applied; ${load.stores.length - stale.length} match the database at the end; re-snapshots after the first: ${byReason || 'none'}; ${gaps.length} with a gap`);
    for (const s of stale.slice(0, 5)) losses.push(`client store out of date: ${s}`);
    if (stale.length > 5) losses.push(`…and ${stale.length - 5} more out-of-date stores`);
    for (const g of gaps.slice(0, 5)) losses.push(`client history gap: ${g}`);

    const exits = deployment.unexpectedExits();
    const unhealthy = await deployment.unhealthy(30_000);
    const alive = deployment.processes.filter((p) => !p.killedOnPurpose).length;
    lines.push(`processes: ${alive} running without a hand (${deployment.processes.filter((p) => p.killedOnPurpose).length} killed by the drill); ${exits.length} exited on their own; ${unhealthy.length} unhealthy`);
    for (const e of [...exits, ...unhealthy]) losses.push(`needed a manual fix: ${e}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  return { lines, losses };
}

/** Why a store does not hold the database's final state, if it does not. */
function storeProblem(r: StoreRecord, versions: Map<string, number>): string | undefined {
  const state = r.store.state;
  const id = `client ${r.client} / ${r.store.documentId.slice(0, 8)}`;
  if (!state) return `${id}: no snapshot`;
  if (state.status !== 'completed') return `${id}: status ${state.status}`;
  const notDone = state.chapters.filter((c) => c.status !== 'completed').length;
  if (notDone > 0) return `${id}: ${notDone} chapter(s) not completed`;
  const behind = state.chapters.filter((c) => c.version !== null && versions.has(c.id) && c.version !== versions.get(c.id));
  if (behind.length > 0) return `${id}: ${behind.length} chapter version(s) differ from the database (e.g. v${behind[0]!.version} vs v${versions.get(behind[0]!.id)})`;
  return undefined;
}

/** A seq that does not follow the one before, outside a snapshot replace. */
function gapIn(r: StoreRecord): string | undefined {
  let last: number | undefined;
  for (let i = 0; i < r.seqs.length; i++) {
    const s = r.seqs[i]!;
    if (s === -1) {
      last = r.seqs[++i];
      continue;
    }
    if (last !== undefined && s !== last + 1) return `client ${r.client} / ${r.store.documentId.slice(0, 8)}: seq ${last} then ${s}`;
    last = s;
  }
  return undefined;
}
