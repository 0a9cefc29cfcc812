import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, watchPageErrors } from '../support/browser.ts';
import { startTestHerald, type TestHerald } from '../support/herald.ts';
import { upload } from '../support/sdk.ts';
import { waitFor } from '../support/wait.ts';

const TEXT = [
  '# The harbour\n\nThe harbour was quiet that morning.\n\nMara waited by the lamp.\n\nThe boat was late again.\n',
  '# The storm\n\nThe storm came in from the west.\n',
  '# The letter\n\nTomas read the letter twice.\n',
].join('\n');

const editor = (page: Page, n: number) => page.locator('[data-testid=chapter-editor]').nth(n);
const saveState = (page: Page, n: number) => page.locator('[data-testid=chapter]').nth(n).locator('[data-testid=chapter-save-state]');
/** The one save state of the page: the open manuscript's. */
const pageSaveState = (page: Page) => page.locator('[data-testid=save-state]');

/** Types `text` into chapter `n`'s editor after the first occurrence of `after` (at the end when it is null). */
async function typeAfter(page: Page, n: number, after: string | null, text: string): Promise<void> {
  const field = editor(page, n);
  await field.click();
  await field.evaluate((el, a) => {
    const t = el as HTMLTextAreaElement;
    const at = a === null ? t.value.length : t.value.indexOf(a) + a.length;
    t.setSelectionRange(at, at);
  }, after);
  await page.keyboard.type(text);
}

function valueOf(page: Page, n: number): Promise<string> {
  return editor(page, n).inputValue();
}

/** Takes the context offline and waits until the page knows it (so no request of the page's is already on its way). */
const API = '**/api/**';

/**
 * The browser loses its network: emulated offline (navigator.onLine false), and every API request refused
 * at the network too, so nothing the page sends meanwhile can reach Herald, however the emulation is timed.
 */
async function goOffline(context: BrowserContext, page: Page): Promise<void> {
  await context.route(API, (route) => route.abort('internetdisconnected'));
  await context.setOffline(true);
  await page.waitForFunction(() => !navigator.onLine);
}

async function goOnline(context: BrowserContext): Promise<void> {
  await context.unroute(API);
  await context.setOffline(false);
}

async function waitForState(page: Page, n: number, state: string): Promise<void> {
  await saveState(page, n).and(page.locator(`[data-state=${state}]`)).waitFor({ timeout: 20_000 });
}

describe('two writers in the page', () => {
  let h: TestHerald;
  let browser: Browser;
  let documentId: string;
  const contexts: BrowserContext[] = [];
  const errors: string[][] = [];

  async function openAs(user: string, name: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    errors.push(watchPageErrors(page));
    await page.goto(`${h.url}/?${new URLSearchParams({ token: await h.token(user, { name }), document: documentId })}`);
    await page.waitForSelector('.connection[data-state=connected]');
    return { context, page };
  }

  async function serverText(chapter: number): Promise<string> {
    const doc = (await (await h.api('ana', `/api/documents/${documentId}`)).json()) as { chapters: { id: string; index: number }[] };
    const id = doc.chapters.find((c) => c.index === chapter)!.id;
    return ((await (await h.api('ana', `/api/chapters/${id}`)).json()) as { chapter: { content: string } }).chapter.content;
  }

  beforeAll(async () => {
    h = await startTestHerald();
    browser = await launchChromium();
    documentId = await upload(h, 'ana', TEXT, 'Harbour');
    for (const [user_id, role] of [['ben', 'editor'], ['vic', 'viewer']] as const) {
      const res = await h.api('ana', `/api/documents/${documentId}/members`, { method: 'POST', json: { user_id, role } });
      expect(res.status).toBe(201);
    }
    // Summarised first, so a save later makes the summary older than the text.
    await waitFor('the manuscript to be summarised', async () => {
      const doc = (await (await h.api('ana', `/api/documents/${documentId}`)).json()) as { document: { status: string } };
      return doc.document.status === 'completed';
    });
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await h?.close();
  });

  it('shows who has the document open, and the chapter each is editing, to each other', async () => {
    const { page: ana } = await openAs('ana', 'Ana Lima');
    const { page: ben } = await openAs('ben', 'Ben Okafor');
    const user = (page: Page, id: string) => page.locator(`[data-testid=presence] [data-testid=presence-user][data-user=${id}]`);
    for (const page of [ana, ben]) {
      await user(page, 'ana').waitFor();
      await user(page, 'ben').waitFor();
    }
    expect(await user(ben, 'ana').getAttribute('title')).toContain('Ana Lima');
    expect(await user(ben, 'ana').textContent()).toBe('AL');

    const chapterId = await editor(ana, 1).getAttribute('data-chapter-id');
    await editor(ana, 1).click();
    await ben.locator(`[data-testid=presence-user][data-user=ana][data-chapter-id="${chapterId}"]`).waitFor();
    // The chapter Ana edits shows her beside its editor in Ben's page, not in hers.
    await ben.locator('[data-testid=chapter]').nth(1).locator('.chapter-presence [data-user=ana]').waitFor();
    expect(await ana.locator('.chapter-presence [data-user=ana]').count()).toBe(0);

    await editor(ben, 0).click();
    await ana.locator(`[data-testid=presence-user][data-user=ben][data-chapter-id="${await editor(ben, 0).getAttribute('data-chapter-id')}"]`).waitFor();
    // Leaving the editor: a moment later Ana edits no chapter.
    await ana.locator('.document-title').click();
    await ben.locator('[data-testid=presence-user][data-user=ana]:not([data-chapter-id])').waitFor();
    await ana.close();
    await ben.locator('[data-testid=presence-user][data-user=ana]').waitFor({ state: 'detached' });
    await ben.close();
  }, 60_000);

  it('shows what one writer types to the other, live, and measures how fast', async () => {
    const { page: ana } = await openAs('ana', 'Ana Lima');
    const { page: ben } = await openAs('ben', 'Ben Okafor');
    await typeAfter(ana, 0, 'quiet', ' and grey');
    await waitForState(ana, 0, 'saved');
    await waitFor('Ben to see Ana’s words', async () => (await valueOf(ben, 0)).includes('quiet and grey'));
    expect(await serverText(0)).toContain('quiet and grey');
    // The saved text is newer than its summary until the refresh brings a new one, in both views.
    const first = (page: Page) => page.locator('[data-testid=chapter]').nth(0);
    await first(ben).and(ben.locator('[data-summary-state=updating]')).waitFor();
    expect(await first(ben).locator('.summary-updating').isVisible()).toBe(true);
    await first(ana).and(ana.locator('[data-summary-state=current]')).waitFor({ timeout: 20_000 });
    await first(ben).and(ben.locator('[data-summary-state=current]')).waitFor({ timeout: 20_000 });

    // Keystroke to collaborator: each edit is one typed word, then Ben's editor is watched until it shows it.
    // A few edits prove it; WRITING_LATENCY_EDITS=100 turns the test into the measurement (about 70 s).
    const edits = Number(process.env.WRITING_LATENCY_EDITS ?? 5);
    const latencies: number[] = [];
    for (let i = 0; i < edits; i++) {
      const word = ` w${i}`;
      await typeAfter(ana, 1, null, word);
      const started = performance.now(); // the last keystroke is in
      await ben.waitForFunction((w) => (document.querySelectorAll('[data-testid=chapter-editor]')[1] as HTMLTextAreaElement).value.endsWith(w), word, {
        polling: 'raf',
        timeout: 20_000,
      });
      latencies.push(performance.now() - started);
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!);
    console.log(`last keystroke → collaborator sees it (${edits} edits, 600 ms autosave debounce included): p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${at(1)} ms`);
    await waitForState(ana, 1, 'saved');
    expect(await valueOf(ben, 1)).toBe(await valueOf(ana, 1));
    await ana.close();
    await ben.close();
  }, 120_000);

  it('merges edits made while one writer was offline, in both views', async () => {
    const { page: ana } = await openAs('ana', 'Ana Lima');
    const { context: benContext, page: ben } = await openAs('ben', 'Ben Okafor');
    await waitFor('both editors loaded', async () => (await valueOf(ana, 2)) !== '' && (await valueOf(ben, 2)) !== '');

    await goOffline(benContext, ben);
    await typeAfter(ben, 2, 'letter twice', ', slowly');
    await waitForState(ben, 2, 'offline');
    // The page's one save state says the same for the whole manuscript.
    expect(await pageSaveState(ben).getAttribute('data-state')).toBe('offline');
    await typeAfter(ana, 2, 'Tomas', ' Brandt');
    await waitForState(ana, 2, 'saved');
    await goOnline(benContext);

    const both = 'Tomas Brandt read the letter twice, slowly.';
    for (const page of [ana, ben]) {
      await waitFor('both edits in both views', async () => (await valueOf(page, 2)).includes(both), 20_000);
      await waitForState(page, 2, 'saved');
      await pageSaveState(page).and(page.locator('[data-state=saved]')).waitFor({ timeout: 5_000 });
    }
    expect(await serverText(2)).toContain(both);
    // Ben's live connection is back too: Ana's next words reach him as they are saved.
    await typeAfter(ana, 2, 'slowly', ' and smiled');
    await waitForState(ana, 2, 'saved');
    await waitFor('Ben to see Ana’s words after reconnecting', async () => (await valueOf(ben, 2)).includes('slowly and smiled'), 5_000);
    await ana.close();
    await ben.close();
  }, 60_000);

  it('asks the writer to choose when both changed the same words, and saves the choice', async () => {
    const { page: ana } = await openAs('ana', 'Ana Lima');
    const { context: benContext, page: ben } = await openAs('ben', 'Ben Okafor');
    await waitFor('both editors loaded', async () => (await valueOf(ana, 0)) !== '' && (await valueOf(ben, 0)) !== '');

    await goOffline(benContext, ben);
    await typeAfter(ben, 0, 'by the', ' red');
    await waitForState(ben, 0, 'offline');
    await typeAfter(ana, 0, 'by the', ' green');
    await waitForState(ana, 0, 'saved');
    await goOnline(benContext);

    await waitForState(ben, 0, 'conflict');
    expect(await pageSaveState(ben).getAttribute('data-state')).toBe('conflict');
    const merge = ben.locator('[data-testid=chapter]').nth(0).locator('.merge');
    expect(await merge.textContent()).toContain('red');
    expect(await merge.textContent()).toContain('green');
    await merge.locator('[data-testid=merge-mine]').click();
    await waitForState(ben, 0, 'saved');
    expect(await valueOf(ben, 0)).toContain('by the red lamp');
    await waitFor('Ana to see Ben’s choice', async () => (await valueOf(ana, 0)).includes('by the red lamp'));
    expect(await serverText(0)).toContain('by the red lamp');
    await ana.close();
    await ben.close();
  }, 60_000);

  it('keeps an edit made offline across a reload and sends it once online', async () => {
    const { context, page } = await openAs('ben', 'Ben Okafor');
    await waitFor('the editor loaded', async () => (await valueOf(page, 1)) !== '');
    await goOffline(context, page);
    await typeAfter(page, 1, 'from the west', ' at dusk');
    await waitForState(page, 1, 'offline');
    // The draft is in IndexedDB once the page says so; then the page goes away with the edit unsent.
    await page.waitForFunction(async () => {
      const db = await new Promise<IDBDatabase>((resolve) => {
        const r = indexedDB.open('herald-drafts');
        r.onsuccess = () => resolve(r.result);
      });
      const all = await new Promise<{ text: string }[]>((resolve) => {
        const r = db.transaction('drafts').objectStore('drafts').getAll();
        r.onsuccess = () => resolve(r.result as { text: string }[]);
      });
      db.close();
      return all.some((d) => d.text.includes('at dusk'));
    });
    await page.close();
    expect(await serverText(1)).not.toContain('at dusk');

    await goOnline(context);
    const again = await context.newPage();
    errors.push(watchPageErrors(again));
    await again.goto(`${h.url}/?${new URLSearchParams({ token: await h.token('ben'), document: documentId })}`);
    await waitForState(again, 1, 'saved');
    expect(await valueOf(again, 1)).toContain('from the west at dusk');
    expect(await serverText(1)).toContain('from the west at dusk');
    await again.close();
  }, 60_000);

  it('gives a viewer a read-only editor that still follows the writers', async () => {
    const { page: vic } = await openAs('vic', 'Vic');
    await waitFor('the editor loaded', async () => (await valueOf(vic, 0)) !== '');
    expect(await editor(vic, 0).getAttribute('readonly')).not.toBeNull();
    expect(await editor(vic, 0).isEditable()).toBe(false);
    expect(await saveState(vic, 0).textContent()).toBe('Read only');
    const { page: ana } = await openAs('ana', 'Ana Lima');
    await typeAfter(ana, 0, 'harbour', ' wall');
    await waitFor('Vic to see Ana’s words', async () => (await valueOf(vic, 0)).includes('harbour wall'));
    await vic.close();
    await ana.close();
    // What the browser logs for requests that failed on purpose: offline, and the 409s that led to merges.
    const expected = /net::ERR_INTERNET_DISCONNECTED|status of 409/;
    expect(errors.flat().filter((e) => !expected.test(e))).toEqual([]);
  }, 60_000);
});
