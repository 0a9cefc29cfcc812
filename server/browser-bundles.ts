import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** What the editor page needs: the SDK module, the page's script, its markup and styles. */
export interface BrowserAssets {
  /** `realtime/client/index.ts` as one ES module (socket.io-client included). */
  clientJs: string;
  /** The editor page's script; imports the SDK from `/client.js`. */
  editorJs: string;
  editorCss: string;
  indexHtml: string;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLIENT_ENTRY = `${ROOT}realtime/client/index.ts`;

let assets: Promise<BrowserAssets> | undefined;

/**
 * Builds the browser bundles with esbuild once per process (about a tenth
 * of a second) and keeps them in memory: nothing built is committed or
 * written to disk, so what is served always matches the source.
 */
export function loadBrowserAssets(): Promise<BrowserAssets> {
  assets ??= buildAssets().catch((error: unknown) => {
    assets = undefined; // let the next request try again
    throw error;
  });
  return assets;
}

async function buildAssets(): Promise<BrowserAssets> {
  const [clientJs, editorJs, editorCss, indexHtml] = await Promise.all([
    bundle(CLIENT_ENTRY, []),
    bundle(`${ROOT}realtime/page/main.ts`, [sdkAsUrl]),
    // One stylesheet: the page's own, then the writing view's (chapter editors, merges, presence).
    Promise.all([readFile(`${ROOT}realtime/page/editor.css`, 'utf8'), readFile(`${ROOT}realtime/page/writing.css`, 'utf8')]).then((parts) => parts.join('\n')),
    readFile(`${ROOT}realtime/page/index.html`, 'utf8'),
  ]);
  return { clientJs, editorJs, editorCss, indexHtml };
}

async function bundle(entry: string, plugins: Plugin[]): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: false,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
    plugins,
  });
  return result.outputFiles[0]!.text;
}

/** The page imports the SDK from `/client.js` at run time instead of bundling a second copy of it. */
const sdkAsUrl: Plugin = {
  name: 'herald-sdk-as-url',
  setup(b) {
    // The editor page (realtime/page/) imports the SDK as `../client/index.ts`; the page loads it from /client.js.
    b.onResolve({ filter: /^\.\.\/client\/index\.ts$/ }, () => ({ path: '/client.js', external: true }));
  },
};

/** A bundle of the SDK for hosting elsewhere (`npm run build:client` writes it to dist/client.js). */
export async function buildClientModule(): Promise<string> {
  return bundle(CLIENT_ENTRY, []);
}
