import { describe, expect, it } from 'vitest';
import { chapterJobOf, chapterOfJobId, runLengthFor } from '../../jobs/contracts.ts';
import { windowFor, windowInRuns } from '../../jobs/ingest-window.ts';
import { refuseBeyondQuota } from '../../server/services/upload-quota.ts';

describe('a document’s window', () => {
  it('is the user’s window shared among the user’s documents in flight, at least 1', () => {
    expect(windowFor(64, 1)).toBe(64);
    expect(windowFor(64, 4)).toBe(16);
    expect(windowFor(64, 0)).toBe(64);
    expect(windowFor(64, 1000)).toBe(1);
  });
});

describe('runs of chapters per job', () => {
  it('keep a document in at least 16 jobs, at most CHAPTERS_PER_JOB chapters each', () => {
    expect(runLengthFor(1, 16)).toBe(1);
    expect(runLengthFor(31, 16)).toBe(1);
    expect(runLengthFor(32, 16)).toBe(2);
    expect(runLengthFor(300, 16)).toBe(16);
    expect(runLengthFor(300, 8)).toBe(8);
    expect(runLengthFor(10_000, 16)).toBe(16);
    expect(runLengthFor(10_000, 1)).toBe(1);
  });

  it('make a window a whole number of runs, at least one', () => {
    expect(windowInRuns(64, 8)).toBe(64);
    expect(windowInRuns(20, 8)).toBe(16);
    expect(windowInRuns(3, 8)).toBe(8);
    expect(windowInRuns(5, 1)).toBe(5);
  });

  it('name a single chapter as before and a run by its first chapter and length', () => {
    const a = { id: '00000000-0000-4000-8000-00000000000a', version: 2 };
    const b = { id: '00000000-0000-4000-8000-00000000000b', version: 1 };
    const single = chapterJobOf([a]);
    expect(single).toEqual({ jobId: `chapter-${a.id}-v2`, fields: { chapterId: a.id, version: 2 } });
    expect(chapterOfJobId(single.jobId)).toBe(a.id);
    const run = chapterJobOf([a, b]);
    expect(run.jobId).toBe(`chapters-${a.id}-v2-n2`);
    expect(chapterOfJobId(run.jobId)).toBeNull();
    expect(run.fields).toEqual({ chapterId: a.id, version: 2, run: [a, b] });
    expect(() => chapterJobOf([])).toThrow();
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
