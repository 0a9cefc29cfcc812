import { createHash, timingSafeEqual } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { createRouter } from '../app-env.ts';
import { AppError } from '../errors.ts';
import { errorResponses } from './schemas.ts';

/**
 * `GET /metrics`: the process's registry in Prometheus text format. With a
 * `token` (METRICS_TOKEN) it needs `Authorization: Bearer <token>`; without
 * one it is open, for a Prometheus scraping over a private network.
 */
export function metricsRoutes(scrape: () => Promise<{ text: string; contentType: string }>, token?: string) {
  const app = createRouter();
  if (token) app.use('/metrics', requireBearer(token));
  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      summary: "Prometheus metrics of this process (queue depths, job durations and outcomes, events, sockets, push latency, HTTP); Bearer METRICS_TOKEN when one is set",
      responses: {
        200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
        ...(token && errorResponses(401)),
      },
    }),
    async (c) => {
      const { text, contentType } = await scrape();
      return c.text(text, 200, { 'content-type': contentType });
    },
  );
  return app;
}

function requireBearer(token: string): MiddlewareHandler {
  const expected = digest(token);
  return async (c, next) => {
    const given = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    // Compared as digests: equal lengths for timingSafeEqual, and the time taken says nothing about the token.
    if (!given || !timingSafeEqual(digest(given), expected)) {
      throw new AppError('unauthenticated', 'Send "Authorization: Bearer <METRICS_TOKEN>".', undefined, { 'WWW-Authenticate': 'Bearer realm="metrics"' });
    }
    await next();
  };
}

const digest = (value: string) => createHash('sha256').update(value).digest();
