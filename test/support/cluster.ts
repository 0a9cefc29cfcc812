import type { Role } from '../../server/config.ts';
import { spawnNode, type RunningProcess } from './child-process.ts';
import { TEST_AUTH_SECRET, TEST_REDIS_URL } from './env.ts';
import { freePort } from './private-redis.ts';
import { waitFor } from './wait.ts';

export interface HeraldProcess {
  role: Role;
  url: string;
  process: RunningProcess;
}

/**
 * Starts `npx tsx server/main.ts --role=<role>` as a real child process on a
 * free port, sharing a deployment's database and Redis prefix, and waits
 * until its /health answers 200.
 */
export async function startHeraldProcess(role: Role, deployment: { databaseUrl: string; prefix: string; env?: Record<string, string> }): Promise<HeraldProcess> {
  const port = await freePort();
  const process = startServer([`--role=${role}`], {
    NODE_ENV: 'test',
    PORT: String(port),
    DATABASE_URL: deployment.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: deployment.prefix,
    AUTH_SECRET: TEST_AUTH_SECRET,
    LOG_LEVEL: 'warn',
    ...deployment.env,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      `the ${role} process on port ${port} to be healthy`,
      async () => {
        if (process.child.exitCode !== null) throw new Error(`it exited with ${process.child.exitCode}: ${process.stderr.slice(-2000)}`);
        const res = await fetch(`${url}/health`).catch(() => undefined);
        return res?.status === 200;
      },
      45_000,
      100,
    );
  } catch (error) {
    await process.kill();
    throw error;
  }
  return { role, url, process };
}

/**
 * `node --import tsx server/main.ts …`: what `npx tsx server/main.ts` runs,
 * in one process. tsx's CLI would start the server as a child of its own and
 * can relay SIGTERM but not SIGKILL, so killing it would leave the server
 * running; here the pid is the server's.
 */
function startServer(args: string[], env: Record<string, string>): RunningProcess {
  return spawnNode(['--import', 'tsx', 'server/main.ts', ...args], env, { endsOn: 'exit', keepChars: 100_000 });
}
