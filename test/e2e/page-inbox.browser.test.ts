import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, watchPageErrors } from '../support/browser.ts';
import { upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { waitFor } from '../support/wait.ts';

/** Toasts and the page's controls (buttons, inputs, text areas) that share any area on screen. */
function toastsOverControls(page: Page) {
  return page.evaluate(() => {
    const visible = (el: Element) => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
    };
    const toasts = [...document.querySelectorAll('[data-testid=toast]')].filter(visible);
    const controls = [...document.querySelectorAll('button, input, textarea, select, summary, label')].filter((el) => visible(el) && !el.closest('[data-testid=toast]'));
    const overlaps: string[] = [];
    for (const t of toasts) {
      const a = t.getBoundingClientRect();
      for (const c of controls) {
        const b = c.getBoundingClientRect();
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) overlaps.push(`${t.textContent} over ${c.outerHTML.slice(0, 80)}`);
      }
    }
    return { toasts: toasts.length, overlaps };
  });
}

const inboxCount = async (page: Page) => Number(await page.textContent('[data-testid=inbox-count]'));

describe('notifications and toasts in the editor page', () => {
  let h: TestHerald;
  let browser: Browser;

  beforeAll(async () => {
    h = await startTestHerald();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('shows a toast naming the manuscript that covers no control (phone and desktop) and leaves by itself; the inbox counts, marks read, and a fresh browser does not replay read ones', async () => {
    const token = await h.token('nora');
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${h.url}/?token=${token}`);
    await page.waitForSelector('.connection[data-state=connected]');
    expect(await inboxCount(page)).toBe(0);

    await page.fill('[data-testid=title]', 'Harbour Lights');
    await page.fill('[data-testid=content]', manuscript(3, 80));
    await page.click('[data-testid=upload]');
    const ready = page.locator('[data-testid=toast]', { hasText: 'is ready' });
    await ready.waitFor();
    expect(await ready.textContent()).toContain('“Harbour Lights”');
    expect(await toastsOverControls(page)).toEqual({ toasts: 1, overlaps: [] });
    await page.setViewportSize({ width: 1360, height: 900 });
    expect((await toastsOverControls(page)).overlaps).toEqual([]);
    // The live notification of the same event joined the toast instead of adding one.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=inbox-count]')?.textContent) === 1);
    expect(await page.locator('[data-testid=toast]').count()).toBe(1);
    await ready.waitFor({ state: 'detached', timeout: 8000 });

    // Marking read in the inbox lowers the count.
    await page.click('.inbox-button');
    await page.locator('[data-testid=inbox-item][data-read=false]').waitFor();
    await page.click('[data-testid=inbox-mark-read]');
    await page.waitForFunction(() => document.querySelector('[data-testid=inbox-count]')?.textContent === '0');
    await page.keyboard.press('Escape');

    // A package notification's toast, dismissed, marks it read.
    await page.click('[data-testid=package-build]');
    const full = page.locator('[data-testid=toast]', { hasText: 'full package is ready' });
    await full.locator('.dismiss').focus();
    await page.waitForFunction(() => document.querySelector('[data-testid=inbox-count]')?.textContent === '1');
    await full.locator('.dismiss').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=inbox-count]')?.textContent === '0');

    // A fresh browser (no storage) sees both as read.
    const fresh = await browser.newPage();
    await fresh.goto(`${h.url}/?token=${token}`);
    await fresh.waitForSelector('.connection[data-state=connected]');
    await fresh.click('.inbox-button');
    await fresh.locator('[data-testid=inbox-item]').nth(1).waitFor();
    expect(await fresh.locator('[data-testid=inbox-item][data-read=false]').count()).toBe(0);
    expect(await inboxCount(fresh)).toBe(0);
    expect(errors).toEqual([]);
    await fresh.close();
    await context.close();
  });

  it('mutes and unmutes a manuscript from the page, and shows the choice when it opens again', async () => {
    const token = await h.token('mia');
    const { documentId } = await upload(h, 'mia', manuscript(2), { title: 'Quiet Book' });
    const muted = async () => ((await (await h.api('mia', `/api/documents/${documentId}/notifications`)).json()) as { muted: boolean }).muted;
    const page = await browser.newPage();
    const errors = watchPageErrors(page);
    const open = async () => {
      await page.goto(`${h.url}/?token=${token}&document=${documentId}`);
      await page.locator('[data-testid=document-notify]:enabled').waitFor();
    };
    await open();
    expect(await page.isChecked('[data-testid=document-notify]')).toBe(true);
    await page.uncheck('[data-testid=document-notify]');
    await waitFor('the mute to be stored', async () => (await muted()) === true);
    await open();
    expect(await page.isChecked('[data-testid=document-notify]')).toBe(false);
    await page.check('[data-testid=document-notify]');
    await waitFor('the mute to be lifted', async () => (await muted()) === false);
    expect(errors).toEqual([]);
    await page.close();
  });
});
