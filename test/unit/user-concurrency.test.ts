import { describe, expect, it } from 'vitest';
import { createRouter } from '../../server/app-env.ts';
import { toErrorResponse } from '../../server/errors.ts';
import { createLogger } from '../../server/logger.ts';
import { limitUserConcurrency } from '../../server/user-concurrency.ts';

/** An app whose one route waits until the test lets it finish, so the test sees how many run at once. */
function gatedApp(options: { concurrency: number; queue: number }) {
  const app = createRouter();
  const gates: (() => void)[] = [];
  let running = 0;
  let most = 0;
  app.onError((error, c) => toErrorResponse(error, c, createLogger('silent')));
  app.use('*', async (c, next) => {
    c.set('user', { id: c.req.header('x-user')!, name: null, expiresAt: Date.now() / 1000 + 60 });
    await next();
  });
  app.use('*', limitUserConcurrency(options));
  app.get('/work', async (c) => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((release) => gates.push(release));
    running--;
    return c.json({ ok: true });
  });
  const request = (user: string) => app.request('/work', { headers: { 'x-user': user } });
  const settle = () => new Promise((r) => setTimeout(r, 10));
  return { request, gates, settle, stats: () => ({ running, most }) };
}

describe('limitUserConcurrency', () => {
  it('runs at most `concurrency` requests of one user at once, queues the rest in order, and refuses past the queue', async () => {
    const { request, gates, settle, stats } = gatedApp({ concurrency: 2, queue: 2 });
    const answers = Array.from({ length: 4 }, () => request('mallory'));
    await settle();
    expect(stats().running).toBe(2);
    const refused = await request('mallory');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    while (gates.length > 0 || stats().running > 0) {
      gates.shift()?.();
      await settle();
    }
    expect((await Promise.all(answers)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(stats().most).toBe(2);
  });

  it("never makes one user wait for another's requests", async () => {
    const { request, gates, settle, stats } = gatedApp({ concurrency: 1, queue: 10 });
    const mallory = Array.from({ length: 5 }, () => request('mallory'));
    await settle();
    const writer = request('writer');
    await settle();
    expect(stats().running).toBe(2); // one of mallory's, and the writer's at once
    while (gates.length > 0) {
      gates.shift()!();
      await settle();
    }
    expect((await writer).status).toBe(200);
    expect((await Promise.all(mallory)).every((r) => r.status === 200)).toBe(true);
  });
});
