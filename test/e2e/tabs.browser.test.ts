import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createBuiltinProvider } from '../../jobs/ai/builtin.ts';
import type { AiProvider } from '../../jobs/ai/provider.ts';
import { chapterStatuses, launchChromium, recordChapterStatuses, waitForChapters, watchPageErrors } from '../support/browser.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { upload } from '../support/sdk.ts';
import { waitFor } from '../support/wait.ts';

const CHAPTERS = 30;

/** The builtin provider, held until the test opens the gate, then a little slow so the ingest outlasts a tab. */
function gatedProvider(gate: Promise<void>): AiProvider {
  const builtin = createBuiltinProvider({ simulatedLatencyMs: 60 });
  return {
    name: 'gated',
    summarize: async (text, options) => (await gate, builtin.summarize(text, options)),
    embed: (text, options) => builtin.embed(text, options),
  };
}

const completedCount = (page: Page) => page.locator('[data-testid=chapter][data-status=completed]').count();

describe('tabs of one browser share one socket', () => {
  let h: TestHerald;
  let browser: Browser;
  let openGate!: () => void;

  beforeAll(async () => {
    h = await startTestHerald({ ai: gatedProvider(new Promise((r) => (openGate = r))), env: { WORKER_CONCURRENCY: '2' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('relays every document event to each tab, hands the socket over when the leader closes, and syncs toast dismissal', async () => {
    const connections = () => h.herald.gateway!.io.engine.clientsCount;
    const documentId = await upload(h, 'tess', manuscript(CHAPTERS), 'Three Tabs');
    const url = `${h.url}/?${new URLSearchParams({ token: await h.token('tess'), document: documentId })}`;
    const context = await browser.newContext();
    const pages: Page[] = [];
    const errors: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const page = await context.newPage();
      errors.push(watchPageErrors(page));
      await page.goto(url);
      await page.locator('[data-testid=chapter]').nth(CHAPTERS - 1).waitFor();
      await page.waitForSelector('.connection[data-state=connected]');
      pages.push(page);
      // Every tab shows the document, yet the gateway holds one connection: the first tab's.
      expect(connections()).toBe(1);
    }
    const [leader, second, third] = pages as [Page, Page, Page];
    await recordChapterStatuses(second);
    await recordChapterStatuses(third);

    openGate();
    await waitFor('every tab to show live progress', async () => (await Promise.all(pages.map(completedCount))).every((n) => n >= 3));
    await leader.close(); // the leader tab goes away mid-ingest
    const doneAtHandover = await completedCount(second);
    expect(doneAtHandover).toBeLessThan(CHAPTERS);

    for (const page of [second, third]) {
      await waitForChapters(page, CHAPTERS, 'completed', 45_000);
      // Focus inside a toast holds it (it would otherwise leave by itself within seconds).
      await page.locator('[data-testid=toast]', { hasText: 'is ready' }).locator('.dismiss').focus();
      const seen = Object.values(await chapterStatuses(page));
      expect(seen).toHaveLength(CHAPTERS);
      expect(seen.every((s) => s.at(-1) === 'completed')).toBe(true);
    }
    await waitFor('one connection again, the new leader’s', () => connections() === 1);

    // Dismissed in one tab, gone in the other.
    await second.locator('[data-testid=toast]', { hasText: 'is ready' }).locator('.dismiss').click();
    await third.locator('[data-testid=toast]', { hasText: 'is ready' }).waitFor({ state: 'detached' });

    expect(errors.flat()).toEqual([]);
    await context.close();
  });
});
