import { describe, expect, it } from 'vitest';
import { ChapterSaver, type ChapterText, type Draft, type SaveOp, type SaveResult, type SaveState } from '../../realtime/page/autosave-queue.ts';

/** A saver whose server answers are scripted and whose timers run when the test says. */
function harness(start: ChapterText, draft?: Draft) {
  const sent: SaveOp[] = [];
  const answers: SaveResult[] = [];
  const reads: (ChapterText | 'offline')[] = [];
  const states: SaveState[] = [];
  const texts: string[] = [];
  const kept: (Draft | null)[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  let conflict = false;
  let ids = 0;
  const saver = new ChapterSaver(
    {
      save: async (op) => (sent.push(op), answers.shift() ?? { kind: 'saved', version: op.baseVersion + 1 }),
      read: async () => reads.shift() ?? 'offline',
      newOpId: () => `op-${++ids}`,
      keep: (d) => kept.push(d),
      onText: (t) => texts.push(t),
      onState: (s) => states.push(s),
      onConflict: (o) => (conflict = o !== null),
      debounceMs: 600,
      setTimer: (fn, ms) => {
        const t = { fn, ms };
        timers.push(t);
        return t;
      },
      clearTimer: (t) => timers.splice(timers.indexOf(t as (typeof timers)[number]) >>> 0, 1),
    },
    start,
    draft,
  );
  /** Runs the timers due (all of them: the saver keeps at most one), until none is left or `max` ran. */
  async function run(max = 20): Promise<number[]> {
    const waited: number[] = [];
    for (let i = 0; i < max && timers.length > 0; i++) {
      const t = timers.shift()!;
      waited.push(t.ms);
      t.fn();
      for (let j = 0; j < 5; j++) await Promise.resolve();
    }
    return waited;
  }
  return { saver, sent, answers, reads, states, texts, kept, run, get conflict() { return conflict; }, get state() { return states.at(-1); } };
}

describe('ChapterSaver', () => {
  it('saves once after the writer pauses, on the version the edit was made on, and forgets the draft', async () => {
    const t = harness({ version: 3, content: 'abc' });
    t.saver.edit('abcd');
    t.saver.edit('abcde');
    expect(t.state).toBe('saving');
    expect(await t.run()).toContain(600);
    expect(t.sent).toEqual([{ opId: 'op-1', baseVersion: 3, content: 'abcde' }]);
    expect(t.state).toBe('saved');
    expect(t.kept.at(-1)).toBeNull();
  });

  it('sends a save that got no answer again as it was before the newer text, which gets a new op_id', async () => {
    const t = harness({ version: 1, content: 'a' });
    t.answers.push({ kind: 'offline' });
    t.saver.edit('ab');
    await t.run(1);
    expect(t.state).toBe('offline');
    expect(t.kept.at(-1)).toEqual({ base: { version: 1, content: 'a' }, text: 'ab', pending: { opId: 'op-1', baseVersion: 1, content: 'ab' } });
    t.saver.edit('abc');
    expect(t.state).toBe('offline');
    t.saver.resume();
    await t.run();
    expect(t.sent).toEqual([
      { opId: 'op-1', baseVersion: 1, content: 'ab' },
      { opId: 'op-1', baseVersion: 1, content: 'ab' },
      { opId: 'op-2', baseVersion: 2, content: 'abc' },
    ]);
    expect(t.state).toBe('saved');
  });

  it('merges a 409 that touched another paragraph and saves the merge on the new version', async () => {
    const t = harness({ version: 1, content: 'one\ntwo\n' });
    t.answers.push({ kind: 'conflict', current: { version: 2, content: 'ONE\ntwo\n' } });
    t.saver.edit('one\ntwo!\n');
    await t.run();
    expect(t.sent.map((o) => [o.baseVersion, o.content])).toEqual([[1, 'one\ntwo!\n'], [2, 'ONE\ntwo!\n']]);
    expect(t.texts).toEqual(['ONE\ntwo!\n']);
    expect(t.state).toBe('saved');
  });

  it('waits for the writer when both changed the same words, then saves the choice on their version', async () => {
    const t = harness({ version: 1, content: 'the lamp' });
    t.answers.push({ kind: 'conflict', current: { version: 4, content: 'the green lamp' } });
    t.saver.edit('the red lamp');
    await t.run();
    expect(t.state).toBe('conflict');
    expect(t.conflict).toBe(true);
    expect(t.saver.current).toContain('red');
    expect(t.saver.current).toContain('green');
    expect(t.sent).toHaveLength(1);
    t.saver.choose('mine');
    await t.run();
    expect(t.sent.at(-1)).toMatchObject({ baseVersion: 4, content: 'the red lamp' });
    expect(t.state).toBe('saved');
    expect(t.conflict).toBe(false);
  });

  it('waits Retry-After on a 429 and sends the same op again', async () => {
    const t = harness({ version: 1, content: '' });
    t.answers.push({ kind: 'rate_limited', retryAfterMs: 2000 });
    t.saver.edit('x');
    const waited = await t.run();
    expect(waited).toContain(2000);
    expect(t.sent.map((o) => o.opId)).toEqual(['op-1', 'op-1']);
    expect(t.state).toBe('saved');
  });

  it('shows an error that is not retried until the text changes', async () => {
    const t = harness({ version: 1, content: '' });
    t.answers.push({ kind: 'error', message: 'This chapter is too long to save.' });
    t.saver.edit('x'.repeat(10));
    await t.run();
    expect(t.state).toBe('error');
    expect(t.sent).toHaveLength(1);
    t.saver.edit('x');
    await t.run();
    expect(t.sent.at(-1)).toMatchObject({ content: 'x', opId: 'op-2' });
    expect(t.state).toBe('saved');
  });

  it("takes a collaborator's newer text when there is no local edit", async () => {
    const t = harness({ version: 2, content: 'old' });
    t.reads.push({ version: 3, content: 'new' });
    t.saver.remoteChanged(2);
    expect(await t.run()).toEqual([]);
    t.saver.remoteChanged(3);
    await t.run();
    expect(t.texts).toEqual(['new']);
    expect(t.sent).toEqual([]);
    expect(t.state).toBe('saved');
  });

  it('resumes a kept draft: the pending save first, with its op_id', async () => {
    const draft: Draft = { base: { version: 5, content: 'a' }, text: 'abc', pending: { opId: 'kept', baseVersion: 5, content: 'ab' } };
    const t = harness({ version: 6, content: 'ab' }, draft);
    t.answers.push({ kind: 'saved', version: 6 });
    await t.run();
    expect(t.sent.map((o) => [o.opId, o.baseVersion, o.content])).toEqual([['kept', 5, 'ab'], ['op-1', 6, 'abc']]);
    expect(t.state).toBe('saved');
  });
});
