/**
 * Push versus polling every 2 s, the approach Herald replaces: the same 300
 * clients watch one document while an editor saves a chapter once a second.
 * Push clients hold a socket subscribed to the document and see each
 * `chapter.updated`; polling clients GET /api/documents/:id every 2 s
 * (staggered) and see the chapter's new version on their next poll.
 * Freshness is save answered → client knows; CPU is the server process's
 * user+system seconds over the phase (one `api,gateway` process per phase).
 * Each round runs push with the outbox fast path, then with the relay alone
 * (OUTBOX_FAST_PATH=off), a bare Socket.IO + Redis relay (the floor for
 * save → push) and polling; the CPU goal is judged on the median of the
 * rounds' polling/push ratios.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { io, type Socket } from 'socket.io-client';
import { Redis } from 'ioredis';
import { postJson, REDIS_URL, type BenchContext } from './harness.ts';
import { startBareRelay, startHeraldProcess } from './realtime/processes.ts';
import { pause } from './standalone.ts';
import { median, summarize, type Figure } from './stats.ts';

export interface PollingBenchOptions {
  clients: number;
  /** Saves, one a second. */
  saves: number;
  pollEveryMs: number;
  /** Push phases (fast path, relay only, bare relay) run this many times, alternated. */
  rounds: number;
}

const CLOCK_TICKS = 100;

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** How a phase delivers the new version: Herald with its outbox fast path, Herald with the relay alone, or GET every 2 s. */
type Mode = 'push' | 'push-relay' | 'poll';

interface PhaseResult {
  /** Save answered → client sees the new version. */
  freshness: number[];
  /** Save sent → client sees it. */
  saveToPush: number[];
  /** Save sent → answered. */
  save: number[];
  cpu: number;
  requests: number;
}

export async function benchPolling(ctx: BenchContext, options: PollingBenchOptions): Promise<Figure[]> {
  const push: PhaseResult[] = [];
  const relay: PhaseResult[] = [];
  const bare: number[] = [];
  const polls: PhaseResult[] = [];
  for (let r = 0; r < options.rounds; r++) {
    push.push(await phase(ctx, 'push', options));
    relay.push(await phase(ctx, 'push-relay', options));
    bare.push(...(await barePhase(ctx, options)));
    polls.push(await phase(ctx, 'poll', options));
  }
  const pushed = merge(push);
  const relayed = merge(relay);
  const polled = merge(polls);
  // CPU time follows the machine's load as much as the work: each round's push against the polling of the same
  // round, and the median of those paired ratios decides the goal.
  const cpuRatios = push.map((p, r) => polls[r]!.cpu / p.cpu);
  const cpuRatio = median(cpuRatios);
  const pushLatency = summarize(pushed.freshness);
  const pollLatency = summarize(polled.freshness);
  const bareLatency = summarize(bare);
  const saveToPush = summarize(pushed.saveToPush);
  const floor = summarize(pushed.save).p50 + bareLatency.p50;
  const setup = `${options.clients} clients on one document, ${options.saves} saves (1/s) of one chapter; polling: GET /api/documents/:id every ${options.pollEveryMs / 1000} s, staggered; one api+gateway process each; CPU = its user+system time (mean per phase); ${options.rounds} rounds of push, relay-only (OUTBOX_FAST_PATH=off), bare-relay and polling phases, alternated`;
  return [
    {
      figure: '6. Push vs polling: freshness',
      setup: `${setup}; freshness = save answered → client sees the new version`,
      latency: pushLatency,
      goal: { text: '≥ 100× fresher than polling (p50)', met: pollLatency.p50 / pushLatency.p50 >= 100 },
      baseline: { label: 'polling p50', amount: pollLatency.p50, unit: 'ms', ratio: pushLatency.p50 / pollLatency.p50 },
      detail: { polling: pollLatency, relayOnly: summarize(relayed.freshness) },
    },
    {
      figure: '6. Push vs polling: server CPU',
      setup,
      value: { amount: round2(pushed.cpu), unit: 'CPU s', note: `${round2(cpuRatio)}× less than polling (median of ${options.rounds} paired round${options.rounds === 1 ? '' : 's'}); relay only ${round2(relayed.cpu)} CPU s` },
      goal: { text: '≥ 5× less than polling', met: cpuRatio >= 5 },
      baseline: { label: 'polling', amount: round2(polled.cpu), unit: 'CPU s', ratio: 1 / cpuRatio },
      detail: {
        pushRequests: 0, pollRequests: polled.requests, pairedRatios: cpuRatios.map(round2),
        pushCpuPerRound: push.map((p) => round2(p.cpu)), relayCpuPerRound: relay.map((p) => round2(p.cpu)), pollCpuPerRound: polls.map((p) => round2(p.cpu)),
      },
    },
    {
      figure: '6. Save → push',
      setup: `${setup}; save sent → client sees chapter.updated; floor = save latency p50 + the bare Socket.IO + Redis relay's p50 (one message per save to the same ${options.clients} clients)`,
      latency: saveToPush,
      goal: { text: 'p50 within 3 ms of save p50 + bare relay p50', met: saveToPush.p50 <= floor + 3 },
      baseline: { label: 'save p50 + bare p50', amount: floor, unit: 'ms', ratio: saveToPush.p50 / floor },
      detail: { save: summarize(pushed.save), bare: bareLatency, relayOnly: summarize(relayed.saveToPush), relayOnlySave: summarize(relayed.save) },
    },
  ];
}

function merge(results: PhaseResult[]): PhaseResult {
  return {
    freshness: results.flatMap((r) => r.freshness),
    saveToPush: results.flatMap((r) => r.saveToPush),
    save: results.flatMap((r) => r.save),
    cpu: results.reduce((sum, r) => sum + r.cpu, 0) / Math.max(1, results.length),
    requests: results.reduce((sum, r) => sum + r.requests, 0),
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

async function phase(ctx: BenchContext, mode: Mode, options: PollingBenchOptions): Promise<PhaseResult> {
  const env = ctx.heraldEnv(ctx.scenarioPrefix(`polling-${mode}`), {
    ...(mode === 'push-relay' && { OUTBOX_FAST_PATH: 'off' }),
  });
  // BENCH_CPU_PROF_DIR=<dir>: each Herald process writes a CPU profile there (node --cpu-prof) when it stops.
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  const server = await startHeraldProcess('api,gateway', env, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}/${mode}`] : []);
  const token = await ctx.token('bench-poll');
  const headers = { authorization: `Bearer ${token}` };
  const sockets: Socket[] = [];
  let polling = true;
  let requests = 0;
  try {
    const { document, chapters } = await postJson<{ document: { id: string }; chapters: { id: string }[] }>(
      `${server.url}/api/documents`, token, JSON.stringify({ title: 'Polling bench', content: '# One\n\nThe first chapter.\n\n# Two\n\nThe second.' }));
    // When each version was sent and answered, and when each client first knew it: compared at the end, since a
    // pushed event may arrive before the save's own answer.
    const sentAt = new Map<number, number>();
    const answeredAt = new Map<number, number>();
    const seen: { version: number; at: number }[] = [];
    const see = (known: { v: number }, version: number) => {
      const now = performance.now();
      for (let v = known.v + 1; v <= version; v++) seen.push({ version: v, at: now });
      known.v = Math.max(known.v, version);
    };
    const pollers: Promise<void>[] = [];
    for (let c = 0; c < options.clients; c++) {
      const known = { v: 1 };
      if (mode !== 'poll') {
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
      sentAt.set(version + 1, started);
      const res = await fetch(`${server.url}/api/chapters/${chapters[0]!.id}`, {
        method: 'PATCH',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ base_version: version, content: `The first chapter, edit ${i}.`, op_id: randomUUID() }),
      });
      const saved = (await res.json()) as { chapter?: { version: number } };
      if (!saved.chapter) throw new Error(`save answered ${res.status}: ${JSON.stringify(saved)}`);
      version = saved.chapter.version;
      answeredAt.set(version, performance.now());
      await pause(1000 - (performance.now() - started));
    }
    await pause(options.pollEveryMs + 500);
    const cpu = (await cpuSeconds(server.pid)) - cpuBefore;
    polling = false;
    await Promise.all(pollers);
    const known = seen.filter((s) => answeredAt.has(s.version));
    return {
      freshness: known.map((s) => s.at - answeredAt.get(s.version)!),
      saveToPush: known.map((s) => s.at - sentAt.get(s.version)!),
      save: [...answeredAt].map(([v, t]) => t - sentAt.get(v)!),
      cpu,
      requests,
    };
  } finally {
    polling = false;
    for (const s of sockets) s.disconnect();
    await server.stop();
  }
}

/**
 * The floor: the same clients on a bare Socket.IO server relaying one Redis
 * pub/sub channel to one room, one message a second; latency from PUBLISH
 * to each client's receipt.
 */
async function barePhase(ctx: BenchContext, options: PollingBenchOptions): Promise<number[]> {
  const channel = `${ctx.scenarioPrefix('polling-bare')}:bare`;
  const server = await startBareRelay({ REDIS_URL, CHANNEL: channel });
  const redis = new Redis(REDIS_URL);
  const sockets: Socket[] = [];
  const samples: number[] = [];
  try {
    for (let c = 0; c < options.clients; c++) {
      const socket = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false });
      sockets.push(socket);
      socket.on('job.update', (e: { t0: number }) => samples.push(performance.now() - e.t0));
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => socket.emit('join', {}, () => resolve()));
        socket.once('connect_error', reject);
      });
    }
    await pause(1000);
    for (let i = 0; i < options.saves; i++) {
      const started = performance.now();
      await redis.publish(channel, JSON.stringify({ seq: i + 1, t0: performance.now() }));
      await pause(1000 - (performance.now() - started));
    }
    await pause(500);
    return samples;
  } finally {
    for (const s of sockets) s.disconnect();
    redis.disconnect();
    await server.stop();
  }
}
