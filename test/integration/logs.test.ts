import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manuscript, startTestHerald, type TestHerald } from '../support/herald.ts';
import { upload } from '../support/documents.ts';
import { waitFor } from '../support/wait.ts';

describe('structured logs', () => {
  let h: TestHerald;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    h = await startTestHerald({ logger: pino({ level: 'debug' }, sink) });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("carry the upload's request id from the API into the worker's lines about its jobs", async () => {
    const { documentId } = await upload(h, 'lu', manuscript(2));
    const uploaded = await waitFor('the API line about the upload', () => lines.find((l) => l.msg === 'document uploaded' && l.documentId === documentId));
    const requestId = uploaded.requestId as string;
    expect(requestId).toEqual(expect.any(String));
    await waitFor("the worker's lines about the upload's jobs", () =>
      ['document.ingest', 'chapter.process', 'document.finalize'].every((job) =>
        lines.some((l) => l.component === 'worker' && l.job === job && l.requestId === requestId && l.msg === 'job completed'),
      ),
    );
  });
});
