/**
 * Push versus polling every 2 s, the approach Herald replaces: the same 300
 * clients watch one document while an editor saves a chapter once a second.
 * Push clients hold a socket subscribed to the document and see each
 * `chapter.updated`; polling clients GET /api/documents/:id every 2 s
 * (staggered) and see the chapter's new version on their next poll.
 * Freshness is save answered → client knows; CPU is the server process's
 * user+system seconds over the phase (one `api,gateway` process per phase).
 */
import { readFile } from 'node:fs/promises';
import { io, type Socket } from 'socket.io-client';
import { postJson, type BenchContext } from './harness.ts';
import { startHeraldProcess } from './realtime/processes.ts';
import { pause } from './standalone.ts';
import { summarize, type Figure } from './stats.ts';

export interface PollingBenchOptions {
  clients: number;
  /** Saves, one a second. */
  saves: number;
  pollEveryMs: number;
}

const CLOCK_TICKS = 100;

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

export async function benchPolling(ctx: BenchContext, options: PollingBenchOptions): Promise<Figure[]> {
  const push = await phase(ctx, 'push', options);
  const poll = await phase(ctx, 'poll', options);
  const setup = `${options.clients} clients on one document, ${options.saves} saves (1/s) of one chapter; polling: GET /api/documents/:id every ${options.pollEveryMs / 1000} s, staggered; one api+gateway process each; CPU = its user+system time`;
  return [
    {
      figure: '6. Push vs polling: freshness',
      setup: `${setup}; freshness = save answered → client sees the new version`,
      latency: push.latency,
      baseline: { label: 'polling p50', amount: poll.latency.p50, unit: 'ms', ratio: push.latency.p50 / poll.latency.p50 },
      detail: { polling: poll.latency },
    },
    {
      figure: '6. Push vs polling: server CPU',
      setup,
      value: { amount: Math.round(push.cpu * 100) / 100, unit: 'CPU s' },
      baseline: { label: 'polling', amount: Math.round(poll.cpu * 100) / 100, unit: 'CPU s', ratio: push.cpu / poll.cpu },
      detail: { pushRequests: 0, pollRequests: poll.requests },
    },
  ];
}

async function phase(ctx: BenchContext, mode: 'push' | 'poll', options: PollingBenchOptions) {
  const server = await startHeraldProcess('api,gateway', ctx.heraldEnv(ctx.scenarioPrefix(`polling-${mode}`)));
  const token = await ctx.token('bench-poll');
  const headers = { authorization: `Bearer ${token}` };
  const sockets: Socket[] = [];
  let polling = true;
  let requests = 0;
  try {
    const { document, chapters } = await postJson<{ document: { id: string }; chapters: { id: string }[] }>(
      `${server.url}/api/documents`, token, JSON.stringify({ title: 'Polling bench', content: '# One\n\nThe first chapter.\n\n# Two\n\nThe second.' }));
    const savedAt = new Map<number, number>();
    const seen: number[] = [];
    const see = (known: { v: number }, version: number) => {
      const now = performance.now();
      for (let v = known.v + 1; v <= version; v++) {
        const t = savedAt.get(v);
        if (t !== undefined) seen.push(now - t);
      }
      known.v = Math.max(known.v, version);
    };
    const pollers: Promise<void>[] = [];
    for (let c = 0; c < options.clients; c++) {
      const known = { v: 1 };
      if (mode === 'push') {
        const socket = io(server.url, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false });
        sockets.push(socket);
        socket.on('chapter.updated', (e: { version: number }) => see(known, e.version));
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', () => socket.emit('subscribe', { document_id: document.id }, () => resolve()));
          socket.once('connect_error', reject);
        });
      } else {
        pollers.push((async () => {
          await pause((c * options.pollEveryMs) / options.clients);
          while (polling) {
            const started = performance.now();
            const res = await fetch(`${server.url}/api/documents/${document.id}`, { headers }).catch(() => undefined);
            requests++;
            const body = (await res?.json().catch(() => undefined)) as { chapters?: { id: string; version: number }[] } | undefined;
            const chapter = body?.chapters?.find((ch) => ch.id === chapters[0]!.id);
            if (chapter) see(known, chapter.version);
            await pause(options.pollEveryMs - (performance.now() - started));
          }
        })());
      }
    }
    await pause(1000);
    const cpuBefore = await cpuSeconds(server.pid);
    let version = 1;
    for (let i = 0; i < options.saves; i++) {
      const started = performance.now();
      const res = await fetch(`${server.url}/api/chapters/${chapters[0]!.id}`, {
        method: 'PATCH',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ base_version: version, content: `The first chapter, edit ${i}.`, op_id: `poll-bench-${mode}-${i}` }),
      });
      const saved = (await res.json()) as { chapter: { version: number } };
      version = saved.chapter.version;
      savedAt.set(version, performance.now());
      await pause(1000 - (performance.now() - started));
    }
    await pause(options.pollEveryMs + 500);
    const cpu = (await cpuSeconds(server.pid)) - cpuBefore;
    polling = false;
    await Promise.all(pollers);
    return { latency: summarize(seen), cpu, requests };
  } finally {
    polling = false;
    for (const s of sockets) s.disconnect();
    await server.stop();
  }
}
