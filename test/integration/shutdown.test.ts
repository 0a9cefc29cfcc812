import { describe, expect, it } from 'vitest';
import { startPrivateRedis } from '../support/private-redis.ts';
import { manuscript, startTestHerald } from '../support/herald.ts';

describe('shutdown', () => {
  it('completes while Redis is down: running jobs are handed back instead of waited on forever', async () => {
    const redis = await startPrivateRedis();
    const h = await startTestHerald({ env: { REDIS_URL: redis.url, AI_SIMULATED_LATENCY_MS: '50', WORKER_CONCURRENCY: '4' } });
    try {
      const res = await h.api('w', '/api/documents', { method: 'POST', json: { title: 'Busy', content: manuscript(40) } });
      expect(res.status).toBe(202);
      await redis.stop();
      // Resolves within the test's timeout (the workers' grace period is 10 s).
      await h.herald.close();
    } finally {
      await h.close();
      await redis.stop();
    }
  });
});
