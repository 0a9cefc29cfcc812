import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './child-process.ts';

/** Debian's Chromium unless CHROMIUM_PATH says otherwise; playwright-core drives it, nothing is downloaded. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless Chromium. Fails (never skips) with what to install when it is
 * missing: a browser test that silently does not run tests nothing.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: the browser tests need it. ` +
        'Install it with "apt-get update && apt-get install -y chromium" (Debian), or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Collects what a page reports as going wrong: uncaught errors and console errors. */
export function watchPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console.error: ${message.text()}`);
  });
  return errors;
}

/** Saves a screenshot under test-results/ (gitignored) and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  const dir = `${REPO_ROOT}test-results`;
  await mkdir(dir, { recursive: true });
  const path = `${dir}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Records, in the page, every `data-status` each chapter element shows, so
 * a test can tell the statuses went by live rather than all at once.
 */
export async function recordChapterStatuses(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Record<string, string[]> = {};
    (window as unknown as { chapterStatuses: typeof seen }).chapterStatuses = seen;
    const note = (el: Element) => {
      const id = el.getAttribute('data-chapter-id');
      const status = el.getAttribute('data-status');
      if (!id || !status) return;
      const list = (seen[id] ??= []);
      if (list.at(-1) !== status) list.push(status);
    };
    document.querySelectorAll('[data-testid=chapter]').forEach(note);
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === 'attributes') note(r.target as Element);
        r.addedNodes.forEach((n) => n instanceof Element && n.matches('[data-testid=chapter]') && note(n));
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
  });
}

/** The statuses each chapter showed, in order, keyed by chapter id. */
export function chapterStatuses(page: Page): Promise<Record<string, string[]>> {
  return page.evaluate(() => (window as unknown as { chapterStatuses: Record<string, string[]> }).chapterStatuses);
}

/** Resolves once the page shows `count` chapters, all with `status`. */
export function waitForChapters(page: Page, count: number, status: string, timeoutMs = 30_000) {
  return page.waitForFunction(
    ([n, s]) => {
      const chapters = [...document.querySelectorAll('[data-testid=chapter]')];
      return chapters.length === n && chapters.every((c) => c.getAttribute('data-status') === s);
    },
    [count, status] as const,
    { timeout: timeoutMs },
  );
}
