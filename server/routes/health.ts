import { createRoute, z } from '@hono/zod-openapi';
import { createRouter } from '../app-env.ts';

/** One part `/health` reports on: PostgreSQL, Redis, and each started role. */
export interface HealthCheck {
  name: string;
  /** Resolves true when ready; false or a rejection means not ready. */
  check(): Promise<boolean> | boolean;
}

export interface HealthDeps {
  checks: HealthCheck[];
  /** Jobs processing for longer than the stuck threshold. */
  stuckJobs(): Promise<number>;
}

const CHECK_TIMEOUT_MS = 2000;

const HealthSchema = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.record(z.string(), z.enum(['ok', 'failing'])),
    failing: z.array(z.string()),
    stuck_jobs: z.number().int().nullable(),
  })
  .openapi('Health');

export function healthRoutes(deps: HealthDeps) {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      summary: 'Readiness: 200 once PostgreSQL, Redis and every started role are ready; 503 naming what fails',
      responses: {
        200: { description: 'Ready', content: { 'application/json': { schema: HealthSchema } } },
        503: { description: 'Not ready', content: { 'application/json': { schema: HealthSchema } } },
      },
    }),
    async (c) => {
      const results = await Promise.all(deps.checks.map(async (h) => [h.name, await withTimeout(h.check())] as const));
      const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
      const stuck = await withTimeout(deps.stuckJobs(), null);
      const body = {
        status: failing.length === 0 ? ('ok' as const) : ('unavailable' as const),
        checks: Object.fromEntries(results.map(([name, ok]) => [name, ok ? ('ok' as const) : ('failing' as const)])),
        failing,
        stuck_jobs: typeof stuck === 'number' ? stuck : null,
      };
      return c.json(body, failing.length === 0 ? 200 : 503);
    },
  );
  return app;
}

async function withTimeout<T>(work: Promise<T> | T, fallback: T | false = false): Promise<T | false> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([Promise.resolve(work).catch(() => fallback), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
