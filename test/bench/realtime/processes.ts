/**
 * The child processes the realtime bench runs: a Herald gateway, the bare
 * relay, and socket swarms. Each runs under `node --import tsx` (one
 * process, so its pid is the one whose memory is read and that is killed).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { REPO_ROOT } from '../harness.ts';
import type { SwarmCommand, SwarmReply } from './socket-swarm.ts';

export interface ServerProcess {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/** A Herald process with the given roles on a free port (Node run with `nodeArgs` too); resolves once /health answers 200. */
export async function startHeraldProcess(roles: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'server/main.ts', `--role=${roles}`], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Herald logs its URL (JSON lines) once it listens.
  const url = await waitForLine(child, (line) => /"msg":"Herald is ready"/.test(line) && (JSON.parse(line) as { url: string }).url);
  for (let i = 0; i < 100; i++) {
    if ((await fetch(`${url}/health`).catch(() => undefined))?.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid!, url, stop: () => stop(child) };
}

/** The bare Socket.IO relay of one Redis channel. */
export async function startBareRelay(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/realtime/bare-relay.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await waitForLine(child, (line) => /^listening (\d+)/.exec(line)?.[1]);
  return { pid: child.pid!, url: `http://127.0.0.1:${port}`, stop: () => stop(child) };
}

export interface Swarm {
  request<R extends SwarmReply['reply']>(command: SwarmCommand): Promise<Extract<SwarmReply, { reply: R }>>;
  stop(): Promise<void>;
}

/** A process holding many client sockets, driven over IPC. */
export function startSwarm(): Swarm {
  const child = fork(`${REPO_ROOT}test/bench/realtime/socket-swarm.ts`, [], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    // One request at a time per swarm: the next reply is this request's.
    request: (command) =>
      new Promise((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`socket swarm exited with ${code}`));
        child.once('exit', onExit);
        child.once('message', (reply) => {
          child.off('exit', onExit);
          resolve(reply as never);
        });
        child.send(command);
      }),
    stop: () => stop(child),
  };
}

/** Resident memory of a process in KiB (Linux /proc). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function waitForLine<T>(child: ChildProcess, match: (line: string) => T | undefined | false | null): Promise<T> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let errors = '';
    const timer = setTimeout(() => reject(new Error(`child did not get ready in 60 s: ${errors.slice(-1000)}`)), 60_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors = (errors + chunk).slice(-10_000)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const found = match(line);
        if (found) {
          clearTimeout(timer);
          resolve(found);
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code}: ${errors.slice(-1000)}`)));
  });
}
