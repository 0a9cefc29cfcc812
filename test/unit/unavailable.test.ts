import { describe, expect, it } from 'vitest';
import { isUnavailable } from '../../sql/errors.ts';

describe('isUnavailable', () => {
  it('counts a Redis Cluster that lost a shard, is failing over or has no node left as unavailable (503, jobs wait)', () => {
    for (const message of [
      'CLUSTERDOWN The cluster is down',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'None of startup nodes is available',
      'Failed to refresh slots cache.',
      "Cluster isn't ready and enableOfflineQueue options is false",
      'Too many Cluster redirections. Last error: Error: Connection is closed.',
    ]) {
      expect(isUnavailable(new Error(message)), message).toBe(true);
    }
  });

  it('leaves a cluster usage error (a bug) alone', () => {
    expect(isUnavailable(new Error("CROSSSLOT Keys in request don't hash to the same slot"))).toBe(false);
    expect(isUnavailable(new Error('MOVED 2481 127.0.0.1:7001'))).toBe(false);
  });
});
