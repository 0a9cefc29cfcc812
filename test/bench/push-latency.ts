/**
 * Realtime figures (a script, not a test), printed with their setup and a
 * baseline from the same run:
 *
 *  A. Push latency, worker publish → client receive, p50/p99: 1,000 sockets
 *     subscribed to one document, 10 events/s, through a Herald gateway
 *     process, against a bare Socket.IO server relaying one Redis pub/sub
 *     channel to one room (the floor of this stack). Phases alternate
 *     (Herald, bare, Herald, …) so drift hits both alike. The same run
 *     repeats Herald's phase with one socket flooding it with messages.
 *  B. Memory per idle socket of one gateway process at 10,000 sockets
 *     (RSS growth over the idle process), and the bare relay's for scale.
 *
 * Run: `npm run bench -- --only=realtime [--quick]` (bench.sh raises
 * `ulimit -n` for the 10,000 sockets on each side).
 * Clients run in their own processes (socket swarms); latency is measured
 * from a publish timestamp carried in the event, on the machine's clock.
 */
import { Redis } from 'ioredis';
import { createPublisher } from '../../realtime/publisher.ts';
import { postJson, REDIS_URL, startBenchHerald, type BenchContext } from './harness.ts';
import type { Figure, Latency } from './stats.ts';
import { rssKiB, startBareRelay, startHeraldProcess, startSwarm, type ServerProcess, type Swarm } from './realtime/processes.ts';
import { DEFAULT_CONFIG } from '../support/config-defaults.ts';

const quick = process.argv.includes('--quick');
const PLAN = {
  sockets: 1000,
  swarms: 2,
  eventsPerSecond: 10,
  seconds: quick ? 8 : 20,
  rounds: quick ? 1 : 2,
  idleSockets: quick ? 2000 : 10_000,
  idleSwarms: 4,
};

type Target = 'herald' | 'bare' | 'herald+flood';

interface Setup {
  ctx: BenchContext;
  documentId: string;
  token: string;
  prefix: string;
}

const log = (message: string) => console.error(`[push-latency] ${message}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

/** The realtime group of `npm run bench`: push latency against the bare relay, and memory per idle socket, as table figures. */
export async function benchRealtime(ctx: BenchContext): Promise<Figure[]> {
  const setup = await prepare(ctx);
  const latency = await measureLatency(setup);
  const fanOut = await measureFanOut(setup);
  const memory = await measureMemory(setup);
  return figuresOf(latency, memory, fanOut);
}

function figuresOf(latency: Record<Target, Latency>, memory: MemoryFigures, fanOut: FanOut): Figure[] {
  const last = fanOut.steps.at(-1);
  const perSocket = (m: MemoryFigures['herald'], key: 'connectedKiB' | 'subscribedKiB') => (m[key] - m.baselineKiB) / PLAN.idleSockets;
  const ratio = latency.herald.p99 / latency.bare.p99;
  const heraldKiB = perSocket(memory.herald, 'subscribedKiB');
  const bareKiB = perSocket(memory.bare, 'subscribedKiB');
  return [
    {
      figure: '4. Push latency',
      setup: `worker publish → client, ${PLAN.sockets} sockets on one document in ${PLAN.swarms} client processes, ${PLAN.eventsPerSecond} events/s, ${PLAN.seconds} s × ${PLAN.rounds}; one gateway process; baseline: bare Socket.IO + Redis pub/sub relay, phases alternated`,
      latency: latency.herald,
      goal: { text: 'p99 ≤ 1.3× the bare relay', met: ratio <= 1.3 },
      baseline: { label: 'bare relay p99', amount: latency.bare.p99, unit: 'ms', ratio },
      detail: { bare: latency.bare, heraldWithFlood: latency['herald+flood'] },
    },
    {
      figure: '5. Fan-out',
      setup: `deliveries/s one gateway process sustains with p99 ≤ 100 ms: ${PLAN.sockets} sockets on one document, events/s raised ${FAN_OUT_RATES.join(', ')} (${FAN_OUT_SECONDS} s each) until p99 passes 100 ms; clients share the 2 cores`,
      value: { amount: fanOut.sustained, unit: 'deliveries/s', ...(last && { note: `last step ${last.eventsPerSecond} ev/s: p99 ${last.latency.p99.toFixed(1)} ms` }) },
      detail: { steps: fanOut.steps.map((s) => ({ eventsPerSecond: s.eventsPerSecond, deliveriesPerSecond: Math.round(s.deliveriesPerSecond), p50: s.latency.p50, p99: s.latency.p99 })) },
    },
    {
      figure: '8. Memory per idle socket',
      setup: `RSS growth of one gateway process with ${PLAN.idleSockets} idle sockets (${PLAN.idleSwarms} client processes), each subscribed to one document; baseline: bare relay, sockets in its room`,
      value: { amount: Math.round(heraldKiB * 10) / 10, unit: 'KiB/socket', note: `${perSocket(memory.herald, 'connectedKiB').toFixed(1)} KiB connected only` },
      goal: { text: '< 50 KiB per socket', met: heraldKiB < 50 },
      baseline: { label: 'bare relay', amount: Math.round(bareKiB * 10) / 10, unit: 'KiB/socket', ratio: heraldKiB / bareKiB },
      detail: { memory },
    },
  ];
}

/** A document the bench user may watch, created through the API (no workers run: its jobs just wait). */
async function prepare(ctx: BenchContext): Promise<Setup> {
  const prefix = ctx.scenarioPrefix('push');
  const api = await startBenchHerald(ctx, { roles: ['api'], prefix });
  const token = await ctx.token('bench-reader');
  const body = JSON.stringify({ title: 'Push latency', content: '# One\n\nA chapter.' });
  const { document } = await postJson<{ document: { id: string } }>(`${api.url}/api/documents`, token, body);
  return { ctx, documentId: document.id, token, prefix };
}

async function measureLatency(setup: Setup): Promise<Record<Target, Latency>> {
  const herald = await startHeraldProcess('gateway', setup.ctx.heraldEnv(setup.prefix));
  const bare = await startBareRelay({ REDIS_URL, CHANNEL: `${setup.prefix}:bare` });
  const redis = new Redis(REDIS_URL);
  const samples: Record<Target, number[]> = { herald: [], bare: [], 'herald+flood': [] };
  try {
    const order: Target[] = [];
    for (let r = 0; r < PLAN.rounds; r++) order.push('herald', 'bare', 'herald+flood');
    for (const target of order) {
      log(`latency phase: ${target}, ${PLAN.sockets} sockets, ${PLAN.eventsPerSecond} events/s for ${PLAN.seconds} s`);
      for (const sample of await latencyPhase(setup, target, target === 'bare' ? bare : herald, redis)) samples[target].push(sample);
    }
  } finally {
    redis.disconnect();
    await Promise.all([herald.stop(), bare.stop()]);
  }
  return { herald: summarize(samples.herald), bare: summarize(samples.bare), 'herald+flood': summarize(samples['herald+flood']) };
}

/** Connects the sockets, publishes at the planned rate, and returns every (event, socket) latency. */
async function latencyPhase(setup: Setup, target: Target, server: ServerProcess, redis: Redis): Promise<number[]> {
  const kind = target === 'bare' ? 'bare' : 'herald';
  const swarms = await connectSwarms(PLAN.swarms, PLAN.sockets, { url: server.url, target: kind, subscribe: true, setup });
  // Another user: a flooder's user is refused for a while after it is cut off.
  const flood = target === 'herald+flood' ? startFlood(server.url, await setup.ctx.token('bench-flooder')) : undefined;
  try {
    await publishAtRate(setup, kind, redis);
    await sleep(1000); // the last events' way to the clients
    const reports = await Promise.all(swarms.map((s) => s.request<'report'>({ cmd: 'report' })));
    return reports.flatMap((r) => r.samples);
  } finally {
    await flood?.stop();
    await Promise.all(swarms.map((s) => s.request({ cmd: 'close' }).catch(() => undefined).then(() => s.stop())));
  }
}

async function publishAtRate(setup: Setup, kind: 'herald' | 'bare', redis: Redis, rate = PLAN.eventsPerSecond, seconds = PLAN.seconds): Promise<void> {
  const publisher = createPublisher({ redis, prefix: setup.prefix, streamMaxLen: 2000, ttlSeconds: DEFAULT_CONFIG.events.ttlSeconds });
  const total = seconds * rate;
  const start = now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    if (due > now()) await sleep(due - now());
    const job = { id: 'bench', type: 'bench', t0: now() };
    if (kind === 'herald') await publisher.publish(setup.documentId, 'job.update', { job });
    else await redis.publish(`${setup.prefix}:bare`, JSON.stringify({ document_id: setup.documentId, seq: i + 1, at: new Date().toISOString(), job }));
  }
}

/** Fan-out steps: events/s to one document with PLAN.sockets subscribers, raised until p99 passes 100 ms. */
const FAN_OUT_RATES = quick ? [20, 80, 160] : [10, 20, 40, 80, 120, 160, 240, 320];
const FAN_OUT_SECONDS = quick ? 3 : 5;

interface FanOut {
  steps: { eventsPerSecond: number; deliveriesPerSecond: number; latency: Latency }[];
  /** Deliveries/s of the highest step whose p99 stayed within 100 ms. */
  sustained: number;
}

async function measureFanOut(setup: Setup): Promise<FanOut> {
  const herald = await startHeraldProcess('gateway', setup.ctx.heraldEnv(setup.prefix));
  const redis = new Redis(REDIS_URL);
  const swarms = await connectSwarms(PLAN.swarms, PLAN.sockets, { url: herald.url, target: 'herald', subscribe: true, setup });
  const steps: FanOut['steps'] = [];
  try {
    for (const rate of FAN_OUT_RATES) {
      log(`fan-out step: ${rate} events/s × ${PLAN.sockets} sockets for ${FAN_OUT_SECONDS} s`);
      await Promise.all(swarms.map((s) => s.request({ cmd: 'reset' }))); // drop earlier samples
      await publishAtRate(setup, 'herald', redis, rate, FAN_OUT_SECONDS);
      await sleep(1000);
      const reports = await Promise.all(swarms.map((s) => s.request<'report'>({ cmd: 'report' })));
      const latency = summarize(reports.flatMap((r) => r.samples));
      steps.push({ eventsPerSecond: rate, deliveriesPerSecond: (latency.n / FAN_OUT_SECONDS), latency });
      if (latency.p99 > 100) break;
    }
  } finally {
    redis.disconnect();
    await Promise.all(swarms.map((s) => s.request({ cmd: 'close' }).catch(() => undefined).then(() => s.stop())));
    await herald.stop();
  }
  const within = steps.filter((s) => s.latency.p99 <= 100);
  return { steps, sustained: Math.round(within.at(-1)?.deliveriesPerSecond ?? 0) };
}

interface SwarmTarget {
  url: string;
  target: 'herald' | 'bare';
  subscribe: boolean;
  setup: Setup;
}

async function connectSwarms(count: number, sockets: number, t: SwarmTarget): Promise<Swarm[]> {
  const swarms = Array.from({ length: count }, () => startSwarm());
  const replies = await Promise.all(
    swarms.map((s, i) =>
      s.request<'connected'>({
        cmd: 'connect',
        url: t.url,
        target: t.target,
        count: Math.floor(sockets / count) + (i < sockets % count ? 1 : 0),
        token: t.setup.token,
        documentId: t.setup.documentId,
        subscribe: t.subscribe,
      }),
    ),
  );
  const failed = replies.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} of ${sockets} sockets did not connect (raise ulimit -n?)`);
  return swarms;
}

/**
 * One socket sending `unsubscribe` as fast as the event loop lets it, and
 * trying to connect again 100 ms after each cut-off or refusal (a client
 * library's reconnect delay; a handshake storm is a matter for the load
 * balancer, not for per-socket limits).
 */
function startFlood(url: string, token: string): { stop(): Promise<void> } {
  let running = true;
  let sent = 0;
  let cuts = 0;
  let refused = 0;
  const done = (async () => {
    const { io } = await import('socket.io-client');
    while (running) {
      const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
      await new Promise<void>((resolve) => socket.once('connect', resolve).once('connect_error', () => (refused++, resolve())));
      const connected = socket.connected;
      while (running && socket.connected) {
        for (let i = 0; i < 100; i++) socket.emit('unsubscribe', { document_id: '00000000-0000-4000-8000-000000000000' }, () => {});
        sent += 100;
        await sleep(1);
      }
      if (running && connected) cuts++;
      socket.disconnect();
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      log(`flood: ${sent} messages sent, cut off ${cuts} times, ${refused} handshakes refused`);
    },
  };
}

interface MemoryFigures {
  herald: { baselineKiB: number; connectedKiB: number; subscribedKiB: number };
  bare: { baselineKiB: number; connectedKiB: number; subscribedKiB: number };
}

async function measureMemory(setup: Setup): Promise<MemoryFigures> {
  const herald = await startHeraldProcess('gateway', setup.ctx.heraldEnv(setup.ctx.scenarioPrefix('idle')));
  const bare = await startBareRelay({ REDIS_URL, CHANNEL: `${setup.prefix}:idle-bare` });
  try {
    return { herald: await memoryOf(setup, herald, 'herald'), bare: await memoryOf(setup, bare, 'bare') };
  } finally {
    await Promise.all([herald.stop(), bare.stop()]);
  }
}

/** RSS of the idle server, with N sockets connected, and with them all subscribed (settled a few seconds each). */
async function memoryOf(setup: Setup, server: ServerProcess, target: 'herald' | 'bare') {
  log(`memory: ${PLAN.idleSockets} idle sockets on the ${target} server`);
  await sleep(2000);
  const baselineKiB = await rssKiB(server.pid);
  const swarms = await connectSwarms(PLAN.idleSwarms, PLAN.idleSockets, { url: server.url, target, subscribe: false, setup });
  try {
    await sleep(3000);
    const connectedKiB = await rssKiB(server.pid);
    await Promise.all(swarms.map((s) => s.request({ cmd: 'subscribe' })));
    await sleep(3000);
    const subscribedKiB = await rssKiB(server.pid);
    return { baselineKiB, connectedKiB, subscribedKiB };
  } finally {
    await Promise.all(swarms.map((s) => s.request({ cmd: 'close' }).catch(() => undefined).then(() => s.stop())));
  }
}

/** Percentiles of hundreds of thousands of samples (stats.ts spreads its samples into Math.max, which overflows the stack here). */
function summarize(samples: number[]): Latency {
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.round((p / 100) * (sorted.length - 1)))] ?? Number.NaN;
  let sum = 0;
  for (const x of sorted) sum += x;
  return { n: sorted.length, p50: at(50), p95: at(95), p99: at(99), mean: sum / Math.max(1, sorted.length), max: at(100) };
}
