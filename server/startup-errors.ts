import { Redis } from 'ioredis';
import { ensureDatabase, redactUrl } from '../sql/client.ts';

/** A start-up failure a person can act on: printed as one line, exit code 1, no stack trace. */
export class StartupError extends Error {}

/** Creates the database when missing; a PostgreSQL that does not answer becomes a StartupError. */
export async function preparePostgres(url: string): Promise<void> {
  try {
    await ensureDatabase(url);
  } catch (error) {
    const e = error as { code?: string; message?: string };
    const unreachable = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'CONNECT_TIMEOUT'].includes(e.code ?? '');
    throw new StartupError(
      unreachable
        ? `PostgreSQL is not reachable at ${redactUrl(url)} (${e.code}). Start PostgreSQL, or set DATABASE_URL to one that is running.`
        : `PostgreSQL at ${redactUrl(url)} could not be prepared: ${e.message ?? e.code}. Check DATABASE_URL and that its user may create the database.`,
    );
  }
}

/**
 * Checks Redis answers, and warns when its eviction policy could silently
 * drop queued jobs. Returns the warning, if any.
 */
export async function probeRedis(url: string): Promise<string | undefined> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 3000 });
  let firstError: { code?: string; message?: string } | undefined;
  probe.on('error', (err: { code?: string; message?: string }) => {
    firstError ??= err;
  });
  try {
    await probe.connect();
    const [, policy] = ((await probe.config('GET', 'maxmemory-policy').catch(() => [])) as string[]) ?? [];
    if (policy && policy !== 'noeviction') {
      return `Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict queued jobs and event history. Set it to noeviction (redis-cli config set maxmemory-policy noeviction).`;
    }
    return undefined;
  } catch (error) {
    const e = firstError ?? (error as { code?: string; message?: string });
    throw new StartupError(
      `Redis is not reachable at ${redactUrl(url)} (${e.code ?? e.message}). Start Redis, or set REDIS_URL to one that is running.`,
    );
  } finally {
    probe.disconnect();
  }
}
