import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, waitForChapters, watchPageErrors } from '../support/browser.ts';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';

type Violation = { directive: string; blocked: string };

/** Records every CSP violation the page reports (the init script runs before the page's own, outside its policy). */
async function watchViolations(page: Page): Promise<() => Promise<Violation[]>> {
  await page.addInitScript(() => {
    const seen: { directive: string; blocked: string }[] = [];
    (window as unknown as { cspViolations: typeof seen }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push({ directive: e.effectiveDirective, blocked: e.blockedURI }));
  });
  return () => page.evaluate(() => (window as unknown as { cspViolations: Violation[] }).cspViolations);
}

describe('the web surface in Chromium', () => {
  let h: TestHerald;
  let browser: Browser;

  beforeAll(async () => {
    h = await startTestHerald({ env: { ADMIN_USERS: 'root' } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('the editor works under its CSP and keeps the token for the tab, out of the address bar', async () => {
    const page = await browser.newPage();
    const errors = watchPageErrors(page);
    const violations = await watchViolations(page);
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    const token = await h.token('wren', { name: 'Wren' });

    await page.goto(`${h.url}/?token=${token}`);
    await page.waitForSelector('.connection[data-state=connected]');
    expect(new URL(page.url()).search).toBe('');
    expect(await page.evaluate(() => sessionStorage.getItem('herald.token'))).toBe(token);

    await page.fill('[data-testid=title]', 'Lighthouse');
    await page.fill('[data-testid=content]', manuscript(3));
    await page.click('[data-testid=upload]');
    await waitForChapters(page, 3, 'completed');
    const documentId = new URL(page.url()).searchParams.get('document');
    expect(documentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(page.url()).not.toContain(token);
    // The same-origin WebSocket passed `connect-src 'self'`.
    expect(sockets.some((url) => url.startsWith(h.url.replace(/^http/, 'ws')))).toBe(true);

    // A reload finds the token in the tab and reopens the document the address names.
    await page.reload();
    await page.waitForSelector('.connection[data-state=connected]');
    await waitForChapters(page, 3, 'completed');
    expect(new URL(page.url()).searchParams.get('document')).toBe(documentId);
    expect(page.url()).not.toContain('token');

    expect(await violations()).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the Bull Board renders under its own CSP, leaves the token out of the address, and logs out', async () => {
    const page = await browser.newPage();
    const errors = watchPageErrors(page);
    const violations = await watchViolations(page);

    await page.goto(`${h.url}/admin/queues?token=${await h.token('root')}`);
    expect(new URL(page.url()).pathname).toBe('/admin/queues');
    expect(new URL(page.url()).search).toBe('');
    for (const queue of ['chapters', 'documents', 'artifacts']) await page.getByText(queue, { exact: true }).first().waitFor();

    // Only the board's Google Fonts stylesheet is refused (it falls back to system fonts); its scripts and styles all load.
    const refused = await violations();
    expect(refused.filter((v) => !v.blocked.startsWith('https://fonts.googleapis.com/'))).toEqual([]);
    expect(errors.filter((e) => !e.includes('fonts.googleapis.com'))).toEqual([]);

    expect(await page.evaluate(async () => (await fetch('/admin/queues/logout', { method: 'POST' })).status)).toBe(204);
    const after = await page.reload();
    expect(after?.status()).toBe(401);
    await page.close();
  });
});
