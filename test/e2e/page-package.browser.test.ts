import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchPageErrors } from '../support/browser.ts';
import { upload } from '../support/documents.ts';
import { startTestHerald, type TestHerald } from '../support/herald.ts';
import { steerableProvider } from '../support/steerable-ai.ts';
import { waitFor } from '../support/wait.ts';

/** Every value `data-stage` of the package panel took, in order. */
async function recordPackageStages(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { packageStages: string[] }).packageStages = seen;
    const panel = document.querySelector('[data-testid=package]')!;
    new MutationObserver(() => {
      const stage = panel.getAttribute('data-stage') ?? '';
      if (seen.at(-1) !== stage) seen.push(stage);
    }).observe(panel, { attributes: true, attributeFilter: ['data-stage'] });
  });
}

describe('packages and jobs from the editor page', () => {
  let h: TestHerald;
  let browser: Browser;
  let ai: ReturnType<typeof steerableProvider>;

  beforeAll(async () => {
    ai = steerableProvider();
    ai.open();
    h = await startTestHerald({ ai, env: { CHAPTER_ATTEMPTS: '1' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('retries a failed chapter, then builds the package (essential, then full) and exports it as Markdown and JSON', async () => {
    const doc = await upload(h, 'ines', [
      '# The Quay\n\nMara waited on the quay while Tomas rowed in from the lighthouse.',
      '# The Storm\n\nThis chapter is CURSED and the model refuses it. Mara held the rope.',
    ].join('\n\n'), { title: 'Harbour Lights' });
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const errors = watchPageErrors(page);
    await page.goto(`${h.url}/?token=${await h.token('ines')}&document=${doc.documentId}`);

    const failed = page.locator(`[data-testid=chapter][data-chapter-id="${doc.chapters[1]!.id}"]`);
    await failed.and(page.locator('[data-status=failed]')).waitFor();
    ai.heal();
    await failed.locator('[data-testid=chapter-retry]').click();
    await failed.and(page.locator('[data-status=completed]')).waitFor();
    expect(await failed.locator('[data-testid=chapter-retry]').count()).toBe(0);

    // The jobs list shows the chapter job's attempts.
    await page.click('.jobs summary');
    await page.locator('.jobs-list li', { hasText: 'chapter.process' }).first().waitFor();

    await recordPackageStages(page);
    await page.click('[data-testid=package-build]');
    await page.locator('[data-testid=package][data-stage=full]').waitFor();
    expect(await page.evaluate(() => (window as unknown as { packageStages: string[] }).packageStages)).toEqual(['essential', 'full']);

    const [markdown] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=package-export]')]);
    expect(markdown.suggestedFilename()).toBe('Harbour-Lights.md');
    const text = await readFile((await markdown.path())!, 'utf8');
    expect(text.startsWith('# Harbour Lights\n')).toBe(true);
    expect(text).toContain('The Storm');
    const [json] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=package-export-json]')]);
    const exported = JSON.parse(await readFile((await json.path())!, 'utf8')) as { stage: string; title: string };
    expect(exported).toMatchObject({ stage: 'full', title: 'Harbour Lights' });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('stops a document whose analysis hangs: its running job is cancelled from the page', async () => {
    const doc = await upload(h, 'ines', '# Becalmed\n\nThe model will HANG on this chapter until it is stopped.', { title: 'Becalmed' });
    const page = await browser.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${h.url}/?token=${await h.token('ines')}&document=${doc.documentId}`);
    await page.locator(`[data-testid=chapter][data-status=processing]`).waitFor();
    await page.click('[data-testid=document-cancel]');
    const chapterJob = async () => {
      const { jobs } = (await (await h.api('ines', `/api/documents/${doc.documentId}/jobs`)).json()) as { jobs: { type: string; status: string }[] };
      return jobs.find((j) => j.type === 'chapter.process')?.status;
    };
    await waitFor('the chapter job to end cancelled', async () => (await chapterJob()) === 'cancelled');
    await page.locator('[data-testid=chapter]:not([data-status=processing])').waitFor();
    await page.locator('[data-testid=document-cancel]').waitFor({ state: 'hidden' });
    expect(errors).toEqual([]);
    await page.close();
  });
});
