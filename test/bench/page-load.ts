/**
 * The editor page: what it weighs (its JavaScript and CSS, gzipped, as
 * served) and how long a 300-chapter manuscript takes to become usable in
 * Debian's Chromium: from navigation to every chapter listed and the first
 * chapter's text loaded and editable. Herald runs in this process with every
 * role; the manuscript is fully processed before the first page load.
 */
import { gzipSync } from 'node:zlib';
import { launchChromium } from '../support/browser.ts';
import { connectClient, waitForDocumentDone } from '../support/socket.ts';
import { postJson, startBenchHerald, type BenchContext } from './harness.ts';
import { novel } from './prose.ts';
import { summarize, type Figure } from './stats.ts';

export interface PageLoadOptions {
  chapters: number;
  loads: number;
}

export async function benchPageLoad(ctx: BenchContext, options: PageLoadOptions): Promise<Figure[]> {
  const herald = await startBenchHerald(ctx, { roles: ['api', 'gateway', 'worker'], prefix: ctx.scenarioPrefix('page') });
  const token = await ctx.token('page-writer');
  const { document: doc } = await postJson<{ document: { id: string } }>(
    `${herald.url}/api/documents`,
    token,
    JSON.stringify({ title: 'Page load', content: novel(options.chapters, 300) }),
  );
  const watcher = await connectClient(herald.url, token);
  await watcher.subscribe({ document_id: doc.id });
  await waitForDocumentDone(watcher, doc.id, 120_000);
  watcher.close();

  const gz = async (path: string) => gzipSync(Buffer.from(await (await fetch(`${herald.url}${path}`)).arrayBuffer())).length;
  const sizes = { js: await gz('/editor.js'), css: await gz('/editor.css'), html: await gz('/') };

  const browser = await launchChromium();
  const samples: number[] = [];
  try {
    for (let i = 0; i < options.loads + 1; i++) {
      const page = await browser.newPage();
      const started = performance.now();
      await page.goto(`${herald.url}/?token=${token}&document=${doc.id}`);
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=chapter]').length === n, options.chapters, { timeout: 60_000, polling: 'raf' });
      await page.locator('[data-testid=chapter-editor]').first().and(page.locator(':not([aria-busy])')).waitFor({ timeout: 60_000 });
      if (i > 0) samples.push(performance.now() - started); // the first load warms the server's bundle cache
      await page.close();
    }
  } finally {
    await browser.close();
  }
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  return [
    {
      figure: '18. Editor page',
      setup:
        `Debian Chromium (headless), a ${options.chapters}-chapter manuscript already processed, ${options.loads} loads after one warm-up: ` +
        'navigation → every chapter listed and the first chapter editor loaded; every role in the bench process',
      latency: summarize(samples),
      value: { amount: Math.round((sizes.js + sizes.css) / 102.4) / 10, unit: 'KiB gzipped (JS + CSS)', note: `JS ${kb(sizes.js)}, CSS ${kb(sizes.css)}, HTML ${kb(sizes.html)}` },
      detail: { sizes },
    },
  ];
}
