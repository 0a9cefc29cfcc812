import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createPublisher } from '../../realtime/publisher.ts';
import { chapterStatuses, launchChromium, recordChapterStatuses, saveScreenshot, waitForChapters, watchPageErrors } from '../support/browser.ts';
import { createTestRedis } from '../support/redis.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { DEFAULT_CONFIG } from '../support/config-defaults.ts';

describe('the editor page in Chromium', () => {
  let h: TestHerald;
  let browser: Browser;

  beforeAll(async () => {
    // Slow enough that chapters are seen processing (past the 100 ms coalescing interval), fast enough for a test.
    h = await startTestHerald({ env: { AI_SIMULATED_LATENCY_MS: '80', WORKER_CONCURRENCY: '2' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('uploads a manuscript file and shows every chapter go live to completed, with a toast and the packages', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const errors = watchPageErrors(page);
    await page.goto(`${h.url}/?token=${await h.token('sam', { name: 'Sam' })}`);
    await page.waitForSelector('.connection[data-state=connected]');
    await recordChapterStatuses(page);

    await page.setInputFiles('input[type=file]', { name: 'Harbour Lights.md', mimeType: 'text/markdown', buffer: Buffer.from(manuscript(8, 150)) });
    await page.waitForFunction(() => (document.querySelector('[data-testid=content]') as HTMLTextAreaElement).value.length > 0);
    expect(await page.inputValue('[data-testid=title]')).toBe('Harbour Lights');
    await page.click('[data-testid=upload]');

    await waitForChapters(page, 8, 'completed');
    const toast = page.locator('[data-testid=toast]', { hasText: 'is ready' });
    await toast.waitFor();
    expect(await toast.textContent()).toContain('Harbour Lights');
    // Each chapter's statuses went by live; at least some were seen processing on the way.
    const seen = Object.values(await chapterStatuses(page));
    expect(seen).toHaveLength(8);
    expect(seen.every((s) => s.at(-1) === 'completed')).toBe(true);
    expect(seen.some((s) => s.includes('processing'))).toBe(true);
    expect(await page.getAttribute('.document-progress .bar', 'aria-valuenow')).toBe('100');

    // The package events come from the packaging jobs; published here directly: essential first, then full.
    const documentId = new URL(page.url()).searchParams.get('document')!;
    const redis = createTestRedis();
    const publisher = createPublisher({ redis, prefix: h.prefix, streamMaxLen: 100, ttlSeconds: DEFAULT_CONFIG.events.ttlSeconds });
    await publisher.publish(documentId, 'package.essential', { package: { stage: 'essential', synopsis: 'Mara waits at the harbour.' } });
    await page.locator('.stage-badge[data-stage=essential]').waitFor();
    await page.locator('.package-body', { hasText: 'Mara waits at the harbour.' }).waitFor();
    await publisher.publish(documentId, 'package.full', { package: { stage: 'full', synopsis: 'The full synopsis.', characters: [{ name: 'Mara', description: 'waits' }] } });
    await page.locator('.stage-badge[data-stage=full]').waitFor();
    await page.locator('.package-body', { hasText: 'Mara — waits' }).waitFor();
    expect(await page.locator('.package-body').textContent()).not.toContain('Mara waits at the harbour.');
    await page.locator('[data-testid=toast]', { hasText: 'full package is ready' }).waitFor();
    redis.disconnect();

    await page.waitForTimeout(300); // let the progress bar's transition finish for the picture (not an assertion)
    await saveScreenshot(page, 'editor');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('tells the writer how to get in when the page has no token', async () => {
    const page = await browser.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${h.url}/`);
    await page.locator('.notice', { hasText: 'npm run token' }).waitFor();
    expect(await page.isDisabled('[data-testid=upload]')).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });
});
