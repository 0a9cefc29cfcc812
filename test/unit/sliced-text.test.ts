/**
 * The text work the API runs in slices gives what it gave in one go: the
 * character scans cut the text into pieces (never inside a word), the
 * splitter normalises newlines piece by piece, and each has a sliced entry
 * point that must agree with the plain one.
 */
import { describe, expect, it } from 'vitest';
import { extractCharacters, extractCharactersInSlices, nameStats, type NameStat } from '../../domain/text/characters.ts';
import { digestChapter, digestChapterSteps } from '../../domain/package/essential.ts';
import { runInSlices, SLICE_CHARS, SLICE_MS, turnElapsedMs } from '../../domain/text/slices.ts';
import { PARAGRAPHS_PER_STEP, splitChapters, splitChaptersInSlices, splitChapterSteps } from '../../domain/text/split-chapters.ts';

/** A deterministic pseudo-random text of about `chars` characters: names, apostrophes, accents, astral letters, blank lines. */
function prose(chars: number, seed = 7): string {
  const words = [
    'Mara', 'Tomas', "Mara's", 'Émile', 'Zoë', 'O’Neil', 'McCoy', 'storm', 'Storm', 'the', 'lamp', 'said', 'Mr.', 'Darcy',
    'was', 'éclair', 'жена', 'Жена', '𝐀lpha', '𐐀bc', 'x2', 'Q7', 'and', '"Who', 'there?"', '—', 'Lit.', '\n\n', '\n',
  ];
  let state = seed;
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const word = words[state % words.length]!;
    parts.push(word);
    length += word.length + 1;
  }
  return parts.join(' ');
}

/** The scan as it was before it was sliced: regexes over the whole text. */
function wholeTextNameWords(text: string): Map<string, number> {
  const seen = new Map<string, number>();
  for (const match of text.matchAll(/\p{Lu}[\p{Ll}\p{M}]+(?:['’]\p{Ll}+)?/gu)) {
    if (match.index > 0 && /[\p{L}\p{N}]/u.test(text[match.index - 1]!)) continue;
    const word = match[0].replace(/['’]s$/u, '');
    seen.set(word, (seen.get(word) ?? 0) + 1);
  }
  return seen;
}

const byName = (stats: NameStat[]) => [...stats].sort((a, b) => (a.name < b.name ? -1 : 1));

describe('character scans in pieces', () => {
  const text = prose(SLICE_CHARS * 6);

  it('count every capitalised word as a scan of the whole text does, across piece boundaries', () => {
    const totals = new Map(nameStats(text, 'book').map((s) => [s.name, s.total]));
    for (const [word, count] of wholeTextNameWords(text)) {
      if (totals.has(word)) expect(totals.get(word), word).toBe(count);
    }
    expect(totals.get('Mara')).toBe(wholeTextNameWords(text).get('Mara'));
  });

  it('give the same characters in slices as in one go (prose and screenplay)', async () => {
    expect(await extractCharactersInSlices(text, 'book')).toEqual(extractCharacters(text, 'book'));
    const play = Array.from({ length: 4000 }, (_, i) => `${i % 3 ? 'MARA' : 'TOMAS (V.O.)'}\nLine ${i}, said Mara.\n`).join('\n');
    expect(play.length).toBeGreaterThan(SLICE_CHARS * 2);
    expect(await extractCharactersInSlices(play, 'screenplay')).toEqual(extractCharacters(play, 'screenplay'));
    expect(extractCharacters(play, 'screenplay')).toEqual([
      // 2,666 cues plus a mention in each of the 4,000 lines of dialogue; the extension is not part of the name.
      { name: 'Mara', mentions: 2666 + 4000 },
      { name: 'Tomas', mentions: 1334 },
    ]);
  });

  it('digest a chapter the same in steps as in one go', async () => {
    expect(byName((await runInSlices(digestChapterSteps(text, 'book'))).names)).toEqual(byName(digestChapter(text, 'book').names));
  });

  it('read a run of letters far longer than a piece without overflowing the regex stack', () => {
    expect(nameStats('ж'.repeat(2_000_000), 'book')).toEqual([]);
    expect(nameStats(`Mara ${'a'.repeat(SLICE_CHARS * 3)} Mara went`, 'book')).toEqual([{ name: 'Mara', total: 2, mid: 1, lower: false }]);
  });
});

describe('splitting in slices', () => {
  it('turns \\r\\n into one newline even where a piece boundary falls between \\r and \\n', async () => {
    const lf = Array.from({ length: 3000 }, (_, i) => (i % 50 === 0 ? `# Chapter ${i}` : `Line ${i} of the text.`)).join('\n');
    for (const shift of [0, 1, 2]) {
      // Pad so that a \r lands on the last character of the first piece for one of the shifts.
      const crlf = 'x'.repeat(SLICE_CHARS - 1 - shift) + '\r\n' + lf.replace(/\n/g, '\r\n');
      const expected = splitChapters('x'.repeat(SLICE_CHARS - 1 - shift) + '\n' + lf, 'book');
      expect(splitChapters(crlf, 'book')).toEqual(expected);
      expect(await splitChaptersInSlices(crlf, 'book')).toEqual(expected);
    }
  });

  it('treats a lone \\r as a newline and \\r\\r\\n as two', () => {
    expect(splitChapters('# One\ra\r\r\nb', 'book')).toEqual(splitChapters('# One\na\n\nb', 'book'));
  });

  it('packs a long text without headings the same in slices as in one go', async () => {
    const text = prose(SLICE_CHARS * 8, 11).replace(/#/g, '');
    expect(await splitChaptersInSlices(text, 'book')).toEqual(splitChapters(text, 'book'));
  });

  it.each([
    ['Windows newlines, one-word lines', 'a\r\n'.repeat(300_000)],
    ['one-word paragraphs', 'a\n\n'.repeat(300_000)],
    ['long lines of spaces', `A${' '.repeat(60_000)}B\n`.repeat(12)],
    ['Cyrillic, one long word', 'ж'.repeat(SLICE_CHARS * 10)],
    ['thousands of short chapters', Array.from({ length: 3000 }, (_, i) => `# Chapter ${i}\n${'Mara saw Tomas. '.repeat(20)}`).join('\r\n')],
  ])('splits hostile text the same in slices as in one go: %s', async (_name, text) => {
    expect(await splitChaptersInSlices(text, 'book')).toEqual(splitChapters(text, 'book'));
  });

  it('splits a screenplay of huge cue-like lines the same in slices as in one go', async () => {
    const text = `AA\t${' '.repeat(60_000)}AA()\nHello.\n`.repeat(12);
    expect(await splitChaptersInSlices(text, 'screenplay')).toEqual(splitChapters(text, 'screenplay'));
  });

  /** Runs the split to its end and counts its yields: each is a point where runInSlices may hand the event loop back. */
  const yieldsOf = (...args: Parameters<typeof splitChapterSteps>) => {
    const steps = splitChapterSteps(...args);
    let yields = 0;
    while (!steps.next().done) yields++;
    return yields;
  };

  it('yields while counting the words of many short chapters, not only while scanning their lines', () => {
    const text = Array.from({ length: 2000 }, (_, i) => `# Chapter ${i}\n${'Mara saw Tomas. '.repeat(64)}`).join('\n');
    const pieces = Math.floor(text.length / SLICE_CHARS);
    // One pass over the lines and one over the words, each yielding every SLICE_CHARS.
    expect(yieldsOf(text, 'book')).toBeGreaterThanOrEqual(2 * pieces - 2);
  });

  it('yields while counting the sentence runs of one huge paragraph, not only while cutting it', () => {
    // Windows newlines of one-word lines: after normalising, one paragraph of a million words, cut every 4,000 words.
    const text = 'a\r\n'.repeat(1_000_000);
    const pieces = Math.floor((text.length * 2) / 3 / SLICE_CHARS);
    // Normalising, the line scan, finding the paragraph, counting and cutting it, counting its runs, counting the parts' words.
    expect(yieldsOf(text, 'book')).toBeGreaterThanOrEqual(7 * pieces - 7);
  });

  it('yields every PARAGRAPHS_PER_STEP one-word paragraphs, however few characters they take', () => {
    const paragraphs = 200_000;
    expect(yieldsOf('a\n\n'.repeat(paragraphs), 'book')).toBeGreaterThanOrEqual(Math.floor(paragraphs / PARAGRAPHS_PER_STEP));
    expect(splitChapters('a\n\n'.repeat(paragraphs), 'book')).toHaveLength(paragraphs / 2000);
  });
});

describe('the slice budget of a turn', () => {
  it('is shared by sliced work that runs back to back: the second hands the loop back once the first used it up', async () => {
    // The first piece of work (a body read, say) uses this turn's budget.
    while (turnElapsedMs() < SLICE_MS);
    let otherWorkRan = false;
    setImmediate(() => (otherWorkRan = true));
    function* next(): Generator<void, boolean, undefined> {
      yield;
      return otherWorkRan;
    }
    // The next (a parse) must not start a budget of its own in the same turn.
    expect(await runInSlices(next())).toBe(true);
  });
});
