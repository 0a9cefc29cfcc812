import { createRoute, z } from '@hono/zod-openapi';
import type { Registry } from 'prom-client';
import { createRouter } from '../app-env.ts';

/** `GET /metrics`: the process's registry in Prometheus text format. */
export function metricsRoutes(registry: Registry) {
  const app = createRouter();
  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      summary: "Prometheus metrics of this process (queue depths, job durations and outcomes, events, sockets, push latency, HTTP)",
      responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } } },
    }),
    async (c) => c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }),
  );
  return app;
}
