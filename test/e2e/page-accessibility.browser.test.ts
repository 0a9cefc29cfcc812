import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, waitForChapters, watchPageErrors } from '../support/browser.ts';
import { upload } from '../support/documents.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core');
const PHONE = { width: 390, height: 844 };

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/** axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.help}): ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
}

describe('the editor page’s accessibility and small screens', () => {
  let h: TestHerald;
  let browser: Browser;
  let context: BrowserContext;
  let token: string;
  let documentId: string;

  beforeAll(async () => {
    h = await startTestHerald();
    browser = await launchChromium();
    // The page's CSP allows only its own scripts; the test injects axe-core.
    context = await browser.newContext({ bypassCSP: true });
    token = await h.token('ada');
    documentId = (await upload(h, 'ada', manuscript(3, 60), { title: 'Harbour Lights' })).documentId;
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await h?.close();
  });

  it('has no serious or critical axe violations on the start page, an open document, and a phone-sized document', async () => {
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await page.setViewportSize({ width: 1360, height: 900 });
    await page.goto(`${h.url}/?token=${token}`);
    await page.locator('[data-testid=doc-item]').waitFor();
    await page.click('.inbox-button'); // the inbox list is scanned too
    await page.locator('[data-testid=inbox-item]').first().waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    await page.goto(`${h.url}/?document=${documentId}`);
    await waitForChapters(page, 3, 'completed');
    // With a package, its toast and the jobs list showing.
    await page.click('[data-testid=package-build]');
    await page.locator('[data-testid=toast]').first().waitFor();
    await page.locator('[data-testid=package][data-stage]:not([data-stage=""])').waitFor();
    await page.click('.jobs summary');
    await page.locator('.jobs-list li').first().waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    await page.setViewportSize(PHONE);
    await page.goto(`${h.url}/?document=${documentId}`);
    await waitForChapters(page, 3, 'completed');
    expect(await seriousViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('opens a manuscript on a phone through the manuscripts button, with the keyboard reaching "Open a file…"', async () => {
    const page = await context.newPage();
    await page.setViewportSize(PHONE);
    await page.goto(`${h.url}/?token=${token}`);
    const item = page.locator(`[data-testid=doc-item][data-document-id="${documentId}"]`);
    await item.waitFor({ state: 'attached' });
    expect(await item.isVisible()).toBe(false);
    await page.click('[data-testid=nav-toggle]');
    await item.click();
    await waitForChapters(page, 3, 'completed');
    expect(await item.isVisible()).toBe(false);
    expect(await page.getAttribute('[data-testid=nav-toggle]', 'aria-expanded')).toBe('false');

    // Keyboard: Tab from the compose form's text reaches the file picker.
    await page.click('[data-testid=nav-toggle]');
    await page.click('.new-manuscript');
    await page.focus('[data-testid=content]');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.type)).toBe('file');
    await page.close();
  });
});
