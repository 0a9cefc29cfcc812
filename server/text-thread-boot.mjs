// The text thread's entry: Herald's modules are TypeScript, so the thread
// registers tsx's loader (as `npm start`'s `--import tsx` does for the main
// thread) before importing them. Plain JavaScript on purpose: it is what
// Node runs before any loader exists.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
