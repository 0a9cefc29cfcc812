/** An upload thread that ends on its first task, as a thread that crashed would (test/integration/upload-thread.test.ts). */
import { parentPort } from 'node:worker_threads';

parentPort!.once('message', () => process.exit(1));
