import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchChromium, watchPageErrors } from '../support/browser.ts';
import { share, upload } from '../support/documents.ts';
import { startTestHerald, type TestHerald } from '../support/herald.ts';

describe('the editor page’s sign-in and connection states', () => {
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

  it('shows the sign-in problem screen for a refused token, not an empty list, and takes the token out of the address', async () => {
    const page = await browser.newPage();
    await page.goto(`${h.url}/?token=not-a-real-token`);
    const screen = page.locator('[data-testid=signin-problem]');
    await screen.waitFor();
    expect(await screen.textContent()).toContain('npm run token');
    expect(await page.isVisible('[data-testid=upload]')).toBe(false);
    expect(await page.textContent('body')).not.toContain('Nothing here yet');
    expect(page.url()).not.toContain('token');
    await page.close();
  });

  it('lists a manuscript shared with the writer while the page is open, and drops it when access ends', async () => {
    const page = await browser.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${h.url}/?token=${await h.token('pia')}`);
    await page.locator('.doc-list', { hasText: 'Nothing here yet' }).waitFor();
    const { documentId } = await upload(h, 'quinn', '# One\n\nShared text.', { title: 'Shared Shore' });
    await share(h, 'quinn', documentId, 'pia', 'viewer');
    const item = page.locator(`[data-testid=doc-item][data-document-id="${documentId}"]`);
    await item.waitFor();
    expect(await item.textContent()).toContain('Shared Shore');
    expect((await h.api('quinn', `/api/documents/${documentId}/members/pia`, { method: 'DELETE' })).status).toBe(204);
    await item.waitFor({ state: 'detached' });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says when it is reconnecting and when it is back online', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(`${h.url}/?token=${await h.token('olga')}`);
    await page.waitForSelector('.connection[data-state=connected]');
    await page.locator('.doc-list', { hasText: 'Nothing here yet' }).waitFor();
    const banner = page.locator('[data-testid=connection-banner]');
    expect(await banner.isVisible()).toBe(false);
    await context.setOffline(true);
    await banner.and(page.locator('[data-state=offline]')).waitFor();
    expect(await banner.textContent()).toContain('Reconnecting…');
    await context.setOffline(false);
    await banner.and(page.locator('[data-state=online]')).waitFor();
    expect(await banner.textContent()).toContain('Back online');
    // Chromium itself logs the reconnect attempts it refused while offline.
    expect(errors.filter((e) => !e.includes('ERR_INTERNET_DISCONNECTED'))).toEqual([]);
    await context.close();
  });
});
