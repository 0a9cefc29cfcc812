/**
 * The text thread's side (text-thread.ts): each message names one operation
 * and its arguments; the answer carries its id and the result, or the error's
 * name and message. Operations run to their end in one go: this thread has no
 * event loop to keep free.
 */
import { parentPort } from 'node:worker_threads';
import { splitChapters } from '../domain/text/split-chapters.ts';
import type { TextOperations, TextRequest, TextAnswer } from './text-thread.ts';

const operations: TextOperations = {
  parseJson: (text) => JSON.parse(text) as unknown,
  splitChapters: (content, kind, options) => splitChapters(content, kind, options),
};

parentPort!.on('message', (request: TextRequest) => {
  let answer: TextAnswer;
  try {
    const run = operations[request.operation] as (...args: unknown[]) => unknown;
    answer = { id: request.id, ok: true, value: run(...request.args) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    answer = { id: request.id, ok: false, name: e.name, message: e.message };
  }
  parentPort!.postMessage(answer);
});
parentPort!.postMessage('ready');
