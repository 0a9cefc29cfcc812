/**
 * Starts an upload thread in a process run with `--import` flags of its own
 * (test/integration/upload-thread.test.ts) and stores one upload for a user
 * that does not exist: the thread's insert answers PostgreSQL's foreign key
 * error (23503), which only a thread that loaded and ran can give.
 */
import pino from 'pino';
import { startUploadThread } from '../../server/upload-thread.ts';

const thread = startUploadThread({ databaseUrl: process.argv[2]!, pooled: false, connections: 1, nice: 0, logger: pino({ level: 'silent' }) });
async function* body() {
  yield new TextEncoder().encode(JSON.stringify({ title: 'Probe', content: 'Text.' }));
}
const outcome = await thread.storeJson(body(), { maxChapterBytes: 1024 }, 'nobody').catch((error: { code?: string }) => error.code);
await thread.close();
process.stdout.write(String(outcome));
