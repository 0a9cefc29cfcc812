import { spawnNode, type RunningProcess } from './child-process.ts';
import { TEST_AUTH_SECRET, TEST_REDIS_URL } from './env.ts';
import { freePort } from './private-redis.ts';
import { waitFor } from './wait.ts';

export interface HaltingApi {
  url: string;
  process: RunningProcess;
  /** Resolves once the fast path has stopped at its point. */
  halted(): Promise<void>;
}

/** Starts test/support/halting-api.ts on a deployment's database and prefix and waits until /health answers 200. */
export async function startHaltingApi(point: 'publish' | 'delete', deployment: { databaseUrl: string; prefix: string }): Promise<HaltingApi> {
  const port = await freePort();
  const child = spawnNode(['--import', 'tsx', 'test/support/halting-api.ts'], {
    NODE_ENV: 'test',
    PORT: String(port),
    DATABASE_URL: deployment.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: deployment.prefix,
    AUTH_SECRET: TEST_AUTH_SECRET,
    LOG_LEVEL: 'warn',
    // Its own relay must not rescue the rows it holds: only the surviving process's relay may.
    OUTBOX_POLL_MS: '600000',
    HALT_OUTBOX_AT: point,
  }, { endsOn: 'exit', keepChars: 100_000 });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor('the halting API to be healthy', async () => {
      if (child.child.exitCode !== null) throw new Error(`it exited with ${child.child.exitCode}: ${child.stderr.slice(-2000)}`);
      return (await fetch(`${url}/health`).catch(() => undefined))?.status === 200;
    }, 45_000, 100);
  } catch (error) {
    await child.kill();
    throw error;
  }
  return {
    url,
    process: child,
    halted: () => waitFor(`the fast path to halt before ${point}`, () => child.stdout.includes(`outbox halted before ${point}`)).then(() => {}),
  };
}
