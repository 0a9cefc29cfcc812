import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root, where `npm start` runs `node --import tsx server/main.ts`. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RunningProcess {
  child: ChildProcess;
  /** Everything written so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the process if it is still running and waits for it to end. */
  kill(): Promise<void>;
}

/**
 * Starts `node --import tsx <script> ...args` (what `npm start` runs) in the repository root with the given
 * environment added to this process's, collecting its output.
 */
export function startTsx(script: string, args: string[], env: Record<string, string>, options: SpawnNodeOptions = {}): RunningProcess {
  // tsx as a loader in one process: the pid we signal is the one that runs main.ts's handlers.
  return spawnNode(['--import', 'tsx', script, ...args], env, { endsOn: 'close', ...options });
}

export interface SpawnNodeOptions {
  /**
   * `close` (default) waits for the output streams too, so `stdout` is
   * complete; `exit` resolves as soon as the process ends, for a server whose
   * grandchildren might hold the streams open.
   */
  endsOn?: 'close' | 'exit';
  /** Keep only the last this many characters of each stream (long-running servers). Default: all. */
  keepChars?: number;
  /**
   * Starts the process in a process group of its own, and `kill()` SIGKILLs
   * the whole group: the processes it started (the worker child of
   * `npm start`) go too, and with them the output streams they hold open.
   */
  processGroup?: boolean;
}

/** Runs Node with `nodeArgs` in the repository root, this process's environment plus `env`, collecting its output. */
export function spawnNode(nodeArgs: string[], env: Record<string, string>, options: SpawnNodeOptions = {}): RunningProcess {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup ?? false,
  });
  const keep = options.keepChars ?? Infinity;
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout = (stdout + chunk).slice(-keep)));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-keep)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once(options.endsOn ?? 'close', (code: number | null, signal: NodeJS.Signals | null) => resolve({ code, signal }));
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    async kill() {
      if (options.processGroup) {
        // The group outlives its leader while any member runs; ESRCH: nobody is left.
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {}
      } else if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited.catch(() => {});
    },
  };
}

/** Runs a script to its end and returns its exit code and output. */
export async function runTsx(script: string, args: string[], env: Record<string, string>) {
  const run = startTsx(script, args, env);
  const { code, signal } = await run.exited;
  return { code, signal, stdout: run.stdout, stderr: run.stderr };
}
