/** A text thread that dies on its first operation (test/unit/text-thread.test.ts): what a crash of the real one looks like to the API. */
import { parentPort } from 'node:worker_threads';

parentPort!.on('message', () => process.exit(3));
parentPort!.postMessage('ready');
