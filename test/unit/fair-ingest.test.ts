import { describe, expect, it } from 'vitest';
import { windowFor } from '../../jobs/ingest-window.ts';
import { refuseBeyondQuota } from '../../server/services/upload-quota.ts';

describe('a document’s window', () => {
  it('is the user’s window shared among the user’s documents in flight, at least 1', () => {
    expect(windowFor(64, 1)).toBe(64);
    expect(windowFor(64, 4)).toBe(16);
    expect(windowFor(64, 0)).toBe(64);
    expect(windowFor(64, 1000)).toBe(1);
  });
});

describe('upload quotas', () => {
  const quota = { maxQueuedChapters: 100, maxUploadsInFlight: 2 };
  const refusal = (run: () => void) => {
    try {
      run();
    } catch (error) {
      return error as { code: string; status: number; headers?: Record<string, string> };
    }
    return undefined;
  };

  it('always lets a user with nothing queued upload, whatever the size', () => {
    expect(refusal(() => refuseBeyondQuota(quota, { documents: 0, chapters: 0 }, 10_000))).toBeUndefined();
    // A document still settling (every chapter done, its finalize job pending) holds nothing queued.
    expect(refusal(() => refuseBeyondQuota(quota, { documents: 5, chapters: 0 }, 10_000))).toBeUndefined();
  });

  it('refuses past either quota with 429 rate_limited and Retry-After', () => {
    for (const inFlight of [{ documents: 1, chapters: 99 }, { documents: 2, chapters: 1 }]) {
      const error = refusal(() => refuseBeyondQuota(quota, inFlight, 2));
      expect(error).toMatchObject({ code: 'rate_limited', status: 429 });
      expect(Number(error!.headers!['Retry-After'])).toBeGreaterThan(0);
    }
    expect(refusal(() => refuseBeyondQuota(quota, { documents: 1, chapters: 98 }, 2))).toBeUndefined();
  });
});
