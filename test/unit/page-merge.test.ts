import { describe, expect, it } from 'vitest';
import { mapCaret, mergeText, resolveMerge } from '../../realtime/page/merge.ts';

const BASE = 'The harbour was quiet.\nMara waited by the lamp.\n\nThe boat was late again.\n';

describe('mergeText', () => {
  it('merges edits to different paragraphs', () => {
    const mine = BASE.replace('quiet', 'very quiet');
    const theirs = BASE.replace('late again', 'late, as always');
    expect(mergeText(BASE, mine, theirs)).toEqual({
      clean: true,
      text: 'The harbour was very quiet.\nMara waited by the lamp.\n\nThe boat was late, as always.\n',
    });
  });

  it('merges edits to different words of one paragraph', () => {
    const base = 'One morning the tide came in early and the gulls were loud.';
    const mine = 'One cold morning the tide came in early and the gulls were loud.';
    const theirs = 'One morning the tide came in early and the gulls were very loud.';
    expect(mergeText(base, mine, theirs)).toEqual({ clean: true, text: 'One cold morning the tide came in early and the gulls were very loud.' });
  });

  it('takes the side that changed when only one did, and agrees with an identical change', () => {
    expect(mergeText(BASE, BASE, 'theirs')).toEqual({ clean: true, text: 'theirs' });
    expect(mergeText(BASE, 'mine', BASE)).toEqual({ clean: true, text: 'mine' });
    const same = BASE.replace('lamp', 'lantern');
    expect(mergeText(BASE, same, same)).toEqual({ clean: true, text: same });
  });

  it('reports the same words changed differently as a conflict, keeping the agreed parts', () => {
    const mine = BASE.replace('the lamp', 'the red lamp').replace('quiet', 'still');
    const theirs = BASE.replace('the lamp', 'the green lamp');
    const outcome = mergeText(BASE, mine, theirs);
    expect(outcome.clean).toBe(false);
    if (outcome.clean) return;
    const conflicts = outcome.pieces.filter((p) => typeof p !== 'string');
    expect(conflicts).toHaveLength(1);
    expect(resolveMerge(outcome, 'mine')).toBe(mine);
    expect(resolveMerge(outcome, 'theirs')).toBe(theirs.replace('quiet', 'still'));
    const both = resolveMerge(outcome, 'both');
    expect(both).toContain('red');
    expect(both).toContain('green');
    expect(both).toContain('still');
  });

  it('keeps line ends and empty texts intact', () => {
    expect(mergeText('', 'a\n', '')).toEqual({ clean: true, text: 'a\n' });
    expect(mergeText('a\nb\nc', 'A\nb\nc', 'a\nb\nC')).toEqual({ clean: true, text: 'A\nb\nC' });
  });
});

describe('mapCaret', () => {
  it('moves a caret after a change by the change in length and leaves one before it', () => {
    const before = 'first line\nsecond line\nthird line\n';
    const after = 'a new first line\nsecond line\nthird line\n';
    const inThird = before.indexOf('third') + 2;
    expect(mapCaret(before, after, inThird)).toBe(after.indexOf('third') + 2);
    const changedLater = before.replace('third', '3rd');
    expect(mapCaret(before, changedLater, 3)).toBe(3);
    expect(mapCaret(before, before, 7)).toBe(7);
  });

  it('keeps a caret inside a changed paragraph within it', () => {
    const before = 'abc\ndef\n';
    const after = 'abc\nd\n';
    const at = mapCaret(before, after, 7);
    expect(at).toBeGreaterThanOrEqual(4);
    expect(at).toBeLessThanOrEqual(after.length);
  });
});

describe('mergeText on long chapters', () => {
  const long = Array.from({ length: 20_000 }, (_, i) => `Paragraph ${i % 50} of the long chapter.\n\n`).join('');

  it('merges edits far apart at once, whatever the length', () => {
    const mine = `Opening. ${long}`;
    const theirs = `${long}Closing.`;
    expect(mergeText(long, mine, theirs)).toEqual({ clean: true, text: `Opening. ${long}Closing.` });
    expect(mergeText(long, theirs, mine)).toEqual({ clean: true, text: `Opening. ${long}Closing.` });
  });

  it('merges edits in one paragraph of a long chapter word by word', () => {
    const at = long.indexOf('Paragraph 7 of');
    const mine = `${long.slice(0, at)}Paragraph 7 of the very long chapter.${long.slice(at + 'Paragraph 7 of the long chapter.'.length)}`;
    const theirs = `${long.slice(0, at)}The paragraph 7 of the long chapter.${long.slice(at + 'Paragraph 7 of the long chapter.'.length)}`;
    const outcome = mergeText(long, mine, theirs);
    expect(outcome.clean).toBe(true);
    expect(outcome.clean && outcome.text.slice(at, at + 45)).toBe('The paragraph 7 of the very long chapter.\n\nPa');
  });

  it('does not mistake a change at the very start for one a line later', () => {
    expect(mergeText('\nabc\n', 'X\nabc\n', '\nabc\nY')).toEqual({ clean: true, text: 'X\nabc\nY' });
    expect(mergeText('\nabc\n', 'X\nabc\n', 'Z\nabc\n').clean).toBe(false);
  });
});
