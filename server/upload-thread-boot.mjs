// The upload thread's first module (server/upload-thread.ts): plain JavaScript, so the thread can load
// tsx's loader before the TypeScript entry, whatever flags the process was started with.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
