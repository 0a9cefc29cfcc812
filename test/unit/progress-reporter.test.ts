import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { createProgressReporter } from '../../jobs/progress-reporter.ts';
import type { Publisher } from '../../realtime/publisher.ts';

/** A publisher that records what it is asked to publish, in order. */
function recordingPublisher() {
  const published: { chapter: string; status: string; progress: number; at: number }[] = [];
  const publisher = {
    async publish(_documentId: string, _name: string, payload: { chapter_id: string; status: string; progress: number }) {
      published.push({ chapter: payload.chapter_id, status: payload.status, progress: payload.progress, at: Date.now() });
      return { seq: published.length, epoch: 'e' };
    },
  } as unknown as Publisher;
  return { publisher, published };
}

const update = (chapter: string, progress: number) => ({ chapter_id: chapter, index: 0, status: 'processing' as const, progress });

describe('progress coalescing', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('passes on at most one update per chapter per 100 ms, the latest, and nothing after settle', async () => {
    const { publisher, published } = recordingPublisher();
    const reporter = createProgressReporter({ publisher, logger: pino({ level: 'silent' }) });
    const started = Date.now();
    // 1,000 steps in one second, for two chapters at once.
    for (let i = 1; i <= 1000; i++) {
      reporter.report('d', update('a', i / 10));
      reporter.report('d', update('b', i / 10));
      await vi.advanceTimersByTimeAsync(1);
    }
    await reporter.settle('a');
    await reporter.settle('b');
    await publisher.publish('d', 'chapter.status', { chapter_id: 'a', index: 0, status: 'completed', progress: 100 });
    await vi.advanceTimersByTimeAsync(1000);

    for (const chapter of ['a', 'b']) {
      const mine = published.filter((p) => p.chapter === chapter);
      const progress = mine.filter((p) => p.status === 'processing');
      expect(progress.length).toBeGreaterThanOrEqual(9);
      expect(progress.length).toBeLessThanOrEqual(11);
      // The first goes out once the chapter has run for 100 ms, every later one is the latest at its moment, never closer than 100 ms apart.
      expect(progress[0]!.at - started).toBeGreaterThanOrEqual(100);
      expect(progress[0]!.progress).toBeGreaterThanOrEqual(9.9);
      for (let i = 1; i < progress.length; i++) {
        expect(progress[i]!.at - progress[i - 1]!.at).toBeGreaterThanOrEqual(100);
        expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress);
      }
    }
    expect(published.at(-1)).toMatchObject({ chapter: 'a', status: 'completed' });
  });

  it("publishes a chapter's first update once it has been running for the interval, the latest by then", async () => {
    const { publisher, published } = recordingPublisher();
    const reporter = createProgressReporter({ publisher, logger: pino({ level: 'silent' }) });
    reporter.report('d', update('a', 5));
    await vi.advanceTimersByTimeAsync(50);
    reporter.report('d', update('a', 30));
    await vi.advanceTimersByTimeAsync(49);
    expect(published).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(published.map((p) => p.progress)).toEqual([30]);
    reporter.close();
  });

  it('publishes no processing update at all for a chapter that settles within the interval', async () => {
    const { publisher, published } = recordingPublisher();
    const reporter = createProgressReporter({ publisher, logger: pino({ level: 'silent' }) });
    for (const percent of [0, 60, 95]) {
      reporter.report('d', update('a', percent));
      await vi.advanceTimersByTimeAsync(30);
    }
    await reporter.settle('a');
    await publisher.publish('d', 'chapter.status', { chapter_id: 'a', index: 0, status: 'completed', progress: 100 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(published.map((p) => p.status)).toEqual(['completed']);
  });

  it('waits for an update in flight before settle resolves, so the terminal status comes after it', async () => {
    const order: string[] = [];
    let release!: () => void;
    const publisher = {
      publish: (_d: string, _n: string, p: { status: string }) =>
        new Promise((resolve) => {
          release = () => {
            order.push(p.status);
            resolve({ seq: 1, epoch: 'e' });
          };
        }),
    } as unknown as Publisher;
    const reporter = createProgressReporter({ publisher, logger: pino({ level: 'silent' }) });
    reporter.report('d', update('a', 50));
    await vi.advanceTimersByTimeAsync(100);
    const settled = reporter.settle('a').then(() => order.push('completed'));
    await vi.advanceTimersByTimeAsync(10);
    expect(order).toEqual([]);
    release();
    await settled;
    expect(order).toEqual(['processing', 'completed']);
  });

  it('publishes nothing once the run no longer owns its job (a stalled run woken after its re-run)', async () => {
    const { publisher, published } = recordingPublisher();
    let owned = true;
    const reporter = createProgressReporter({ publisher, logger: pino({ level: 'silent' }), canPublish: async () => owned });
    reporter.report('d', update('a', 10));
    await vi.advanceTimersByTimeAsync(150);
    owned = false;
    reporter.report('d', update('a', 60));
    await vi.advanceTimersByTimeAsync(150);
    await reporter.settle('a');
    expect(published.map((p) => p.progress)).toEqual([10]);
  });
});
