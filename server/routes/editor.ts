import { Hono, type Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { loadBrowserAssets, type BrowserAssets } from '../browser-bundles.ts';

const TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
} as const;

/**
 * The editor page (contract section 6) and the SDK module: `GET /`
 * (open it as `/?token=<jwt>`), `/client.js`, `/editor.js`, `/editor.css`.
 * Not in the OpenAPI reference: these are files, not API.
 */
export function editorRoutes() {
  const app = new Hono<AppEnv>();
  const serve = (pick: (a: BrowserAssets) => string, type: string) => async (c: Context<AppEnv>) =>
    c.body(pick(await loadBrowserAssets()), 200, {
      'content-type': type,
      // Rebuilt at every start, so a browser revalidates rather than keeping an old copy.
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
  app.get('/', serve((a) => a.indexHtml, TYPES.html));
  app.get('/client.js', serve((a) => a.clientJs, TYPES.js));
  app.get('/editor.js', serve((a) => a.editorJs, TYPES.js));
  app.get('/editor.css', serve((a) => a.editorCss, TYPES.css));
  return app;
}
