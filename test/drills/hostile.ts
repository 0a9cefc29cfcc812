/**
 * The hostile-user drill's two actors. A normal writer uploads small
 * manuscripts (timed from the upload to the document's closing
 * `document.progress` on a socket) and autosaves a chapter a few times a
 * second (each save timed). A hostile user, at the same time, sends the
 * worst inputs Herald has met: freezing text, oversized and malformed
 * bodies, floods of saves, package requests, subscriptions, sockets and
 * members, reused op ids, bad tokens. The drill alternates phases with and
 * without the hostile user and compares the writer's figures.
 */
import { randomUUID } from 'node:crypto';
import { fork } from 'node:child_process';
import { request } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { HeraldClient } from '../../realtime/client/index.ts';
import { novel } from '../bench/prose.ts';
import { percentile } from '../bench/stats.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the writer measured in one phase. */
export interface WriterPhase {
  saves: number[];
  /** Each upload's time to its 202, and to the document's completion. */
  answers: number[];
  uploads: number[];
  /** Requests that got a 5xx or no answer within 10 s: a freeze or a crash the writer felt. */
  failures: string[];
}

export interface Writer {
  /** Runs one phase of `ms`: uploads one after another and saves every `saveEveryMs`. */
  phase(ms: number): Promise<WriterPhase>;
  /** Documents the writer uploaded and saw complete. */
  documents: string[];
  close(): void;
}

interface Api {
  apiUrl: string;
  gatewayUrl: string;
  token: string;
}

/** The writer's requests wait 10 s at most; the hostile user's 10 MiB bodies queue behind each other, so they get 30 s before counting as unanswered. */
const TIMEOUT_MS = { writer: 10_000, hostile: 30_000 };
/** How long pause() waits for the attacks' loops to stop (each request in them has a timeout below this). */
const PAUSE_DEADLINE_MS = 60_000;

async function call(api: Api, method: string, path: string, body?: unknown, token = api.token, timeoutMs = TIMEOUT_MS.writer): Promise<{ status: number; body: any; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${api.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body: parsed, ms: performance.now() - started };
}

/** The normal writer: one document to edit, new uploads timed to completion on a socket. */
export async function startWriter(api: Api, options: { chapters: number; saveEveryMs: number }): Promise<Writer> {
  const client = HeraldClient.connect({ urls: [api.gatewayUrl], token: api.token });
  const first = await call(api, 'POST', '/api/documents', { title: 'The writer’s book', content: novel(options.chapters, 150, 7) });
  if (first.status !== 202) throw new Error(`the writer's first upload answered ${first.status}: ${JSON.stringify(first.body).slice(0, 200)}`);
  const chapter = { id: first.body.chapters[0].id as string, version: 1 };
  const documents: string[] = [first.body.document.id];
  let n = 0;

  const uploadUntilDone = async (seed: number, failures: string[], answers: number[]): Promise<number | undefined> => {
    const started = performance.now();
    const res = await call(api, 'POST', '/api/documents', { title: `Draft ${seed}`, content: novel(options.chapters, 150, seed) }).catch((e: Error) => ({ status: 0, body: e.message, ms: 0 }));
    if (res.status !== 202) {
      failures.push(`upload: ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`);
      return undefined;
    }
    answers.push(res.ms);
    const id = res.body.document.id as string;
    documents.push(id);
    const store = client.watch(id);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`document ${id} did not complete within 120 s`)), 120_000);
        const check = () => {
          if (store.state && store.state.status !== 'processing') {
            clearTimeout(timer);
            resolve();
          }
        };
        store.subscribe(check);
        check();
      });
      return performance.now() - started;
    } catch (error) {
      failures.push(`upload: ${(error as Error).message}; ${await describeStuck(api, id)}`);
      return undefined;
    } finally {
      store.close();
    }
  };

  const save = async (failures: string[]): Promise<number | undefined> => {
    const opId = randomUUID();
    const res = await call(api, 'PATCH', `/api/chapters/${chapter.id}`, {
      base_version: chapter.version,
      content: `# Chapter One\n\nRevision ${n++}. ${novel(1, 120, n).split('\n').slice(2).join('\n')}`,
      op_id: opId,
    }).catch((e: Error) => ({ status: 0, body: e.message, ms: 0 }));
    if (res.status === 200) {
      chapter.version = res.body.chapter.version;
      return res.ms;
    }
    if (res.status === 409 && res.body.current) chapter.version = res.body.current.version;
    else failures.push(`save: ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`);
    return undefined;
  };

  return {
    documents,
    async phase(ms) {
      const result: WriterPhase = { saves: [], answers: [], uploads: [], failures: [] };
      const end = Date.now() + ms;
      // One upload a second at most, as a person works (and within the socket's message rate: each is watched, then closed).
      const uploads = (async () => {
        while (Date.now() < end) {
          const started = Date.now();
          const t = await uploadUntilDone(1000 + n, result.failures, result.answers);
          if (t !== undefined) result.uploads.push(t);
          await sleep(Math.max(0, 1000 - (Date.now() - started)));
        }
      })();
      while (Date.now() < end) {
        const started = Date.now();
        const t = await save(result.failures);
        if (t !== undefined) result.saves.push(t);
        await sleep(Math.max(0, options.saveEveryMs - (Date.now() - started)));
      }
      await uploads;
      return result;
    },
    close: () => client.close(),
  };
}

/** Where an unfinished document stands: its chapters by status and its jobs by type and status (from the API). */
async function describeStuck(api: Api, documentId: string): Promise<string> {
  try {
    const detail = await call(api, 'GET', `/api/documents/${documentId}`);
    const jobs = await call(api, 'GET', `/api/documents/${documentId}/jobs?limit=500`);
    const count = (list: string[]) => Object.entries(list.reduce<Record<string, number>>((n, k) => ((n[k] = (n[k] ?? 0) + 1), n), {})).map(([k, n]) => `${n} ${k}`).join(', ');
    const chapters = count((detail.body.chapters as { status: string }[]).map((c) => c.status));
    const jobRows = count((jobs.body.jobs as { type: string; status: string }[]).map((j) => `${j.type} ${j.status}`));
    return `document ${detail.body.document.status}; chapters: ${chapters}; jobs: ${jobRows}`;
  } catch (error) {
    return `(could not read its state: ${(error as Error).message})`;
  }
}

/** What the hostile user got back, per attack: status → count, plus anything that should never happen. */
export interface HostileTally {
  statuses: Map<string, Map<string, number>>;
  /** 5xx answers, stack traces, bodies off the contract's shape, connections the server dropped. */
  findings: string[];
}

const SPACES_LINE = (bytes: number) => `INT. HOUSE - NIGHT\n\nMARA\n${' '.repeat(bytes)}x\n`;

/**
 * The hostile user: runs every attack in a loop, several at once, until
 * `stop()`. Each answer is tallied; only a 5xx, a dropped connection or an
 * answer off the error contract counts as a finding.
 */
/** What the hostile user's process is started with. */
export interface HostileOptions {
  api: Api & { secretlessToken: string; expiredToken: string; maxUploadBytes: number };
  bigDocumentId: string;
}

/**
 * The hostile user in its own process (test/drills/hostile-process.ts), driven over IPC, so
 * its 10 MiB bodies are built and sent on other cores' time than the writer's clock.
 */
export function forkHostile(options: HostileOptions) {
  const child = fork(new URL('./hostile-process.ts', import.meta.url).pathname, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, HOSTILE_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = (cmd: 'prepare' | 'start' | 'pause' | 'tally') =>
    new Promise<{ tally?: { statuses: [string, [string, number][]][]; findings: string[] }; error?: string }>((resolve, reject) => {
      const onExit = () => reject(new Error(`the hostile user's process exited during ${cmd}`));
      child.once('exit', onExit);
      child.once('message', (answer: { done: string; error?: string }) => {
        child.off('exit', onExit);
        if (answer.error) reject(new Error(`the hostile user's ${cmd} failed: ${answer.error}`));
        else resolve(answer as never);
      });
      child.send({ cmd });
    });
  return {
    prepare: () => ask('prepare').then(() => undefined),
    start: () => ask('start').then(() => undefined),
    pause: () => ask('pause').then(() => undefined),
    async tally(): Promise<HostileTally> {
      const { tally } = await ask('tally');
      return { statuses: new Map(tally!.statuses.map(([attack, byStatus]) => [attack, new Map(byStatus)])), findings: tally!.findings };
    },
    close: () => child.kill('SIGTERM'),
  };
}

export function startHostile(api: HostileOptions['api'], bigDocumentId: string) {
  const tally: HostileTally = { statuses: new Map(), findings: [] };
  const hostileCall = (method: string, path: string, body?: unknown, token = api.token) => call(api, method, path, body, token, TIMEOUT_MS.hostile);
  let running = false;
  const sockets: Socket[] = [];
  const record = (attack: string, status: number | string, body?: unknown) => {
    const byStatus = tally.statuses.get(attack) ?? new Map<string, number>();
    byStatus.set(String(status), (byStatus.get(String(status)) ?? 0) + 1);
    tally.statuses.set(attack, byStatus);
    const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
    if (typeof status === 'number' && status >= 500) tally.findings.push(`${attack}: ${status} ${text.slice(0, 200)}`);
    else if (typeof status === 'number' && status >= 400 && !(body as any)?.error?.code) tally.findings.push(`${attack}: ${status} without the error envelope: ${text.slice(0, 200)}`);
    if (/\bat [\w.<>]+ \(.*:\d+:\d+\)/.test(text)) tally.findings.push(`${attack}: a stack trace in the body: ${text.slice(0, 200)}`);
  };
  const attempt = async (attack: string, run: () => Promise<{ status: number; body: unknown }>) => {
    try {
      const { status, body } = await run();
      record(attack, status, body);
    } catch (error) {
      record(attack, 'no answer');
      tally.findings.push(`${attack}: no answer (${(error as Error).message})`);
    }
  };

  let target: { chapterId: string; version: number } | undefined;
  const attacks: [string, () => Promise<void>][] = [
    ['autosave: one 60 KB line of spaces in a screenplay', async () => {
      if (!target) return;
      await attempt('autosave-freezing-line', async () => {
        const res = await hostileCall('PATCH', `/api/chapters/${target!.chapterId}`, { base_version: target!.version, content: SPACES_LINE(60_000), op_id: randomUUID() });
        if (res.status === 200) target!.version = res.body.chapter.version;
        if (res.status === 409) target!.version = res.body.current.version;
        return res;
      });
    }],
    ['autosave: an op_id reused for another chapter body', async () => {
      if (!target) return;
      const opId = randomUUID();
      const base = target.version;
      await attempt('autosave-op-reuse', async () => {
        const res = await hostileCall('PATCH', `/api/chapters/${target!.chapterId}`, { base_version: base, content: 'INT. ROOM - DAY\n\nfirst', op_id: opId });
        if (res.status === 200) target!.version = res.body.chapter.version;
        return res;
      });
      await attempt('autosave-op-reuse', () => hostileCall('PATCH', `/api/chapters/${target!.chapterId}`, { base_version: base, content: 'INT. ROOM - DAY\n\nsecond', op_id: opId }));
    }],
    ['autosave: base_version past 2^31', async () => {
      if (!target) return;
      await attempt('autosave-huge-version', () => hostileCall('PATCH', `/api/chapters/${target!.chapterId}`, { base_version: 2 ** 31, content: 'x', op_id: randomUUID() }));
    }],
    ['upload: 1.6 million headings', async () => {
      // `# a\n` is 5 bytes of JSON: as many headings as the body limit allows.
      const content = '# a\n'.repeat(Math.floor((api.maxUploadBytes - 200) / 5) - 10);
      await attempt('upload-many-headings', () => hostileCall('POST', '/api/documents', { title: 'Headings', content }));
    }],
    ['upload: one huge line of spaces as a screenplay', async () => {
      const content = `INT. A - DAY\n\nBOB\n${' '.repeat(api.maxUploadBytes - 1000)}x`;
      await attempt('upload-spaces-line', () => hostileCall('POST', '/api/documents', { title: 'Spaces', kind: 'screenplay', content }));
    }],
    ['upload: a 2 MB heading', async () => {
      await attempt('upload-huge-heading', () => hostileCall('POST', '/api/documents', { title: 'Heading', content: `# ${'H'.repeat(2_000_000)}\n\nText.` }));
    }],
    ['upload: a chunked body past the limit', async () => {
      await attempt('upload-chunked-413', () => chunkedTooLarge(api));
    }],
    ['package: a flood of requests on a large document', async () => {
      await attempt('package-flood', () => hostileCall('POST', `/api/documents/${bigDocumentId}/package`));
    }],
    ['package: the same document with its id in upper case', async () => {
      await attempt('package-upper-case-id', () => hostileCall('GET', `/api/documents/${bigDocumentId.toUpperCase()}/package`));
    }],
    ['refresh: a flood', async () => {
      await attempt('refresh-flood', () => hostileCall('POST', `/api/documents/${bigDocumentId}/refresh`));
    }],
    ['members: adding strangers', async () => {
      await attempt('members-flood', () => hostileCall('POST', `/api/documents/${bigDocumentId}/members`, { user_id: `stranger-${randomUUID()}`, role: 'viewer' }));
    }],
    ['jobs: page through everything', async () => {
      await attempt('jobs-list', () => hostileCall('GET', `/api/documents/${bigDocumentId}/jobs?limit=500`));
    }],
    ['auth: tokens without exp, expired, forged', async () => {
      await attempt('auth-no-exp', () => hostileCall('GET', '/api/documents', undefined, api.secretlessToken));
      await attempt('auth-expired', () => hostileCall('GET', '/api/documents', undefined, api.expiredToken));
      await attempt('auth-forged', () => hostileCall('GET', '/api/documents', undefined, `${api.token.slice(0, -4)}AAAA`));
    }],
    ['json: malformed and wrongly typed bodies', async () => {
      await attempt('json-malformed', () => hostileCall('POST', '/api/documents', '{"title": "x", "content": '));
      await attempt('json-wrong-types', () => hostileCall('POST', '/api/documents', { title: 7, content: ['a'], kind: 'poem' }));
    }],
    ['sockets: more sockets than allowed, each flooding subscribes', async () => {
      const socket = io(api.gatewayUrl, { auth: { token: api.token }, transports: ['websocket'], reconnection: false, forceNew: true });
      sockets.push(socket);
      await new Promise<void>((resolve) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', (err: Error & { data?: { code?: string } }) => {
          record('socket-connect', `refused ${err.data?.code ?? err.message}`);
          resolve();
        });
        setTimeout(resolve, 5000);
      });
      if (!socket.connected) return;
      record('socket-connect', 'connected');
      const acks = Array.from({ length: 150 }, (_, i) =>
        socket.timeout(5000).emitWithAck('subscribe', { document_id: i % 2 ? bigDocumentId.toUpperCase() : randomUUID() }).then(
          (ack: { ok: boolean; error?: { code: string } }) => record('socket-subscribe-flood', ack.ok ? 'ok' : ack.error?.code ?? 'error'),
          () => record('socket-subscribe-flood', 'no ack'),
        ),
      );
      await Promise.all(acks);
    }],
  ];

  let loops: Promise<void>[] = [];
  /** The attacks with a request under way. */
  const busy = new Set<string>();
  return {
    tally,
    /** A screenplay of the hostile user's own, whose first chapter the autosave attacks hit. */
    async prepare() {
      const res = await hostileCall('POST', '/api/documents', { title: 'Target', kind: 'screenplay', content: 'INT. ROOM - DAY\n\nMARA\nHello.\n' });
      if (res.status !== 202) throw new Error(`the hostile user's target upload answered ${res.status}`);
      target = { chapterId: res.body.chapters[0].id, version: 1 };
    },
    /** Starts every attack, each in its own loop, staggered by 50 ms. */
    start() {
      running = true;
      loops = attacks.map(async ([name, run], i) => {
        await sleep(i * 50);
        while (running) {
          try {
            busy.add(name);
            await run();
          } catch (error) {
            tally.findings.push(`${name}: the attack itself failed: ${(error as Error).message}`);
          } finally {
            busy.delete(name);
          }
          await sleep(20);
        }
      });
    },
    /** Stops the attacks (each finishes the request it is on) and closes the hostile sockets. */
    async pause() {
      running = false;
      // Every request has its own timeout, so a loop still running a minute on is stuck: named, not waited for.
      const stuck = await Promise.race([Promise.all(loops).then(() => false), sleep(PAUSE_DEADLINE_MS).then(() => true)]);
      if (stuck) throw new Error(`attacks still running ${PAUSE_DEADLINE_MS / 1000} s after the pause: ${[...busy].join('; ')}`);
      for (const s of sockets.splice(0)) s.disconnect();
    },
  };
}

/** A chunked (no Content-Length) body past MAX_UPLOAD_BYTES: the answer must be the contract's 413. */
function chunkedTooLarge(api: Api & { maxUploadBytes: number }): Promise<{ status: number; body: unknown }> {
  const url = new URL('/api/documents', api.apiUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // kept as text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    // The server reads a body past the limit to its end before its 413: a reset before the answer is a finding.
    req.on('error', reject);
    req.on('close', () => setImmediate(() => reject(new Error('the connection closed without an answer'))));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    const chunk = 'x'.repeat(64 * 1024);
    let sent = 0;
    const pump = () => {
      while (sent <= api.maxUploadBytes + chunk.length) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

/** The writer's figures over the phases of one kind. */
export function summarise(phases: WriterPhase[]): { saveP99: number; saveP50: number; answerMedian: number; uploadMedian: number; saves: number; uploads: number; failures: string[] } {
  const saves = phases.flatMap((p) => p.saves);
  const uploads = phases.flatMap((p) => p.uploads);
  return {
    saveP50: percentile(saves, 50),
    saveP99: percentile(saves, 99),
    answerMedian: percentile(phases.flatMap((p) => p.answers), 50),
    uploadMedian: percentile(uploads, 50),
    saves: saves.length,
    uploads: uploads.length,
    failures: phases.flatMap((p) => p.failures),
  };
}
