/**
 * `npm run build:client`: writes the SDK as one browser ES module to
 * dist/client.js, for hosting it elsewhere than Herald's own `/client.js`
 * (which is built in memory at start and needs no build step).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { buildClientModule } from './browser-bundles.ts';

const code = await buildClientModule();
await mkdir('dist', { recursive: true });
await writeFile('dist/client.js', code);
console.log(`dist/client.js: ${(code.length / 1024).toFixed(1)} KiB`);
