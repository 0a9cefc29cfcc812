/**
 * The longest event-loop block one request of at most MAX_UPLOAD_BYTES can
 * cause (issue 10's figure; goal: under 50 ms). Herald's api role runs as a
 * process of its own with test/bench/loop-monitor.ts preloaded, which
 * measures that process's event-loop delay (perf_hooks, 1 ms resolution).
 * Each hostile request is sent alone: reset the histogram, send, wait for the
 * answer and a settle time for any work after it, read the maximum. The
 * baseline is `GET /health` measured the same way.
 * Run with `npx tsx test/bench/event-loop-block.ts`.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, type BenchContext } from './harness.ts';
import { isMain, runStandalone } from './standalone.ts';
import type { Figure } from './stats.ts';

export const EVENT_LOOP_GOAL_MS = 50;
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** Time after an answer in which work the request left behind still counts. */
const SETTLE_MS = 300;

interface Measured {
  request: string;
  status: number;
  maxBlockMs: number;
  answerMs: number;
}

/** A JSON upload body of about MAX_UPLOAD_BYTES made of `unit` repeated (or `content` as given). */
function uploadBody(kind: 'book' | 'screenplay', unit: string, count?: number): string {
  const envelope = JSON.stringify({ title: 'Hostile', kind, content: '' });
  const times = count ?? Math.floor((MAX_UPLOAD_BYTES - envelope.length - 64) / JSON.stringify(unit).slice(1, -1).length);
  return JSON.stringify({ title: 'Hostile', kind, content: unit.repeat(times) });
}

function chapters10k(): string {
  const perChapter = Math.floor((MAX_UPLOAD_BYTES - 200) / 10_000) - 20;
  const text = 'Mara saw Tomas. '.repeat(Math.ceil(perChapter / 16)).slice(0, perChapter);
  return JSON.stringify({ title: 'Ten thousand', kind: 'book', content: Array.from({ length: 10_000 }, (_, i) => `# Chapter ${i}\n${text}`).join('\n') });
}

export async function benchEventLoop(ctx: BenchContext): Promise<Figure[]> {
  const prefix = ctx.scenarioPrefix('event-loop');
  const herald = await startMonitoredHerald(ctx, prefix);
  try {
    const token = await ctx.token('bench-hostile');
    const results: Measured[] = [];
    const send = async (request: string, path: string, method: string, body?: string) => {
      await herald.call('loop:reset');
      const started = performance.now();
      const res = await fetch(`${herald.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body }),
        signal: AbortSignal.timeout(120_000),
      });
      const text = await res.text();
      const answerMs = performance.now() - started;
      await sleep(SETTLE_MS);
      const { maxMs } = (await herald.call('loop:read')) as { maxMs: number };
      results.push({ request, status: res.status, maxBlockMs: maxMs, answerMs });
      console.error(`bench: event-loop ${request}: ${res.status}, max block ${maxMs.toFixed(1)} ms, answered in ${answerMs.toFixed(0)} ms`);
      return text;
    };

    await send('GET /health (baseline)', '/health', 'GET');
    await send('upload: long lines of spaces', '/api/documents', 'POST', uploadBody('book', `A${' '.repeat(60_000)}B\n`));
    await send('upload: one huge line', '/api/documents', 'POST', uploadBody('book', 'a'));
    await send('upload: 2 million headings', '/api/documents', 'POST', uploadBody('book', '# a\n', 2_000_000));
    await send('upload: one-word paragraphs', '/api/documents', 'POST', uploadBody('book', 'a\n\n'));
    const big = JSON.parse(await send('upload: 10,000 chapters', '/api/documents', 'POST', chapters10k())) as { document: { id: string } };
    const cues = `AA\t${' '.repeat(60_000)}AA()\nHello.\n`;
    const play = JSON.parse(await send('upload: screenplay, huge cue-like lines', '/api/documents', 'POST', uploadBody('screenplay', cues))) as {
      document: { id: string };
      chapters: { id: string }[];
    };
    const save = (content: string) => JSON.stringify({ base_version: 1, op_id: randomUUID(), content });
    const fill = (unit: string) => unit.repeat(Math.floor((MAX_UPLOAD_BYTES - 200) / unit.length));
    await send('autosave: screenplay, huge cue-like lines', `/api/chapters/${play.chapters[0]!.id}`, 'PATCH', save(fill(cues)));
    const prose = JSON.parse(await send('upload: small book', '/api/documents', 'POST', JSON.stringify({ title: 'Small', content: '# One\nHello.' }))) as {
      chapters: { id: string }[];
    };
    const names = Array.from({ length: Math.floor((MAX_UPLOAD_BYTES - 400) / 7) }, (_, i) => `Q${(i + 46_656).toString(36)} `).join('');
    await send('autosave: prose, distinct capitalised words', `/api/chapters/${prose.chapters[0]!.id}`, 'PATCH', save(names));
    await send('package: 10,000-chapter document (first: digests all)', `/api/documents/${big.document.id}/package`, 'POST');
    await send('package: screenplay after the autosave', `/api/documents/${play.document.id}/package`, 'POST');

    const worst = results.slice(1).reduce((a, b) => (b.maxBlockMs > a.maxBlockMs ? b : a));
    return [
      {
        figure: 'Event-loop block per request',
        setup: `api role in its own process, loop delay by perf_hooks at 1 ms resolution; ${results.length - 1} hostile requests of up to MAX_UPLOAD_BYTES (10 MiB) one at a time, each read ${SETTLE_MS} ms after its answer`,
        value: { amount: worst.maxBlockMs, unit: 'ms', note: `worst: ${worst.request}` },
        goal: { text: `< ${EVENT_LOOP_GOAL_MS} ms`, met: worst.maxBlockMs < EVENT_LOOP_GOAL_MS },
        baseline: { label: 'GET /health max block', amount: results[0]!.maxBlockMs, unit: 'ms', ratio: worst.maxBlockMs / Math.max(results[0]!.maxBlockMs, 1) },
        detail: { requests: results },
      },
    ];
  } finally {
    await herald.stop();
  }
}

interface MonitoredHerald {
  url: string;
  /** Sends an IPC message to the loop monitor and resolves with its answer. */
  call(message: string): Promise<unknown>;
  stop(): Promise<void>;
}

async function startMonitoredHerald(ctx: BenchContext, prefix: string): Promise<MonitoredHerald> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/bench/loop-monitor.ts', 'server/main.ts', '--role=api'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...ctx.heraldEnv(prefix, { PORT: String(port) }) },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(timer);
  };
  ctx.onCleanup(stop);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`${url}/health`).then((r) => r.ok, () => false))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`Herald (api) did not become healthy on ${url}; stderr:\n${stderr}`);
    }
    await sleep(100);
  }
  const call = (message: string) =>
    new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${message}`)), 30_000);
      child.once('message', (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      child.send(message);
    });
  return { url, call, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

if (isMain(import.meta.url)) runStandalone('event-loop', benchEventLoop);
