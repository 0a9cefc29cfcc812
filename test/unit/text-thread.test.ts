/**
 * The api role's text thread (server/text-thread.ts): a large upload's JSON
 * parse and chapter split run there and give what the same work in slices
 * gives; small text never goes there; and a thread that dies costs no upload,
 * its operation in flight being done again in slices.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { splitChapters } from '../../domain/text/split-chapters.ts';
import { createTextThread, THREAD_MIN_CHARS, type TextWork } from '../../server/text-thread.ts';
import { manuscript } from '../support/manuscript.ts';
import { waitFor } from '../support/wait.ts';

const logger = pino({ level: 'silent' });
const threads: TextWork[] = [];
const thread = (options?: { entry?: URL }) => {
  const t = createTextThread(logger, options);
  threads.push(t);
  return t;
};
afterEach(async () => {
  await Promise.all(threads.splice(0).map((t) => t.close()));
});

/** A manuscript well past THREAD_MIN_CHARS, with escapes JSON must decode (newlines, quotes, a tab, non-Latin text). */
const big = `${manuscript(400, 60)}\n\n# Coda\n\n"Ça va," she said.\tПривет.`;
const body = JSON.stringify({ title: 'Big', kind: 'book', content: big });

/** Sends large text until the thread (which starts on the first) has answered once. */
async function untilThreadRuns(t: TextWork): Promise<void> {
  await waitFor('the text thread to answer', async () => {
    await t.parseJson(body, []);
    return t.threadRuns > 0;
  }, 30_000, 50);
}

describe('text thread', () => {
  it('parses and splits a large upload on the thread, as JSON.parse and splitChapters do', async () => {
    expect(body.length).toBeGreaterThan(THREAD_MIN_CHARS);
    const t = thread();
    // Until the thread is ready, the same work is done in slices: the first answer is already right.
    expect(await t.parseJson(body, [])).toEqual(JSON.parse(body));
    await untilThreadRuns(t);
    const runs = t.threadRuns;
    expect(await t.parseJson(body, [])).toEqual(JSON.parse(body));
    expect(await t.splitChapters(big, 'book', { limit: 10_000 })).toEqual(splitChapters(big, 'book', { limit: 10_000 }));
    // Past the limit: limit + 1 chapters, as in slices, so the upload is refused without splitting everything.
    expect(await t.splitChapters(big, 'book', { limit: 10 })).toEqual(splitChapters(big, 'book', { limit: 10 }));
    expect(t.threadRuns).toBe(runs + 3);
  });

  it('refuses what JSON.parse refuses, with its SyntaxError', async () => {
    const t = thread();
    await untilThreadRuns(t);
    const runs = t.threadRuns;
    const broken = body.slice(0, -1);
    await expect(t.parseJson(broken, [])).rejects.toThrow(SyntaxError);
    expect(t.threadRuns).toBe(runs + 1);
  });

  it('keeps small text on the event loop', async () => {
    const t = thread();
    await untilThreadRuns(t);
    const runs = t.threadRuns;
    const small = JSON.stringify({ title: 'Small', content: manuscript(3) });
    expect(await t.parseJson(small, [])).toEqual(JSON.parse(small));
    expect(await t.splitChapters(manuscript(3), 'book')).toEqual(splitChapters(manuscript(3), 'book'));
    expect(t.threadRuns).toBe(runs);
  });

  it('does the operation in flight in slices when the thread dies, and the next ones too', async () => {
    const t = thread({ entry: new URL('../support/exiting-text-worker.ts', import.meta.url) });
    // Every answer is right: in slices while the thread starts, and for the operation it died on.
    await waitFor('the thread to die on an operation', async () => {
      expect(await t.splitChapters(big, 'book')).toEqual(splitChapters(big, 'book'));
      return t.threadFailures === 1;
    }, 30_000, 50);
    expect(t.threadRuns).toBe(0);
    expect(await t.parseJson(body, [])).toEqual(JSON.parse(body));
    expect(t.threadFailures).toBe(1);
  });
});
