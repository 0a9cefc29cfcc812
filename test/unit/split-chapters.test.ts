import { describe, expect, it } from 'vitest';
import { countWords, splitChapters, splitChaptersInSlices } from '../../domain/text/split-chapters.ts';

/** `count` distinct words ending in a full stop every 10 words. */
function prose(count: number, stem = 'word'): string {
  return Array.from({ length: count }, (_, i) => `${stem}${i}${i % 10 === 9 ? '.' : ''}`).join(' ');
}

const titles = (content: string, kind: 'book' | 'screenplay' = 'book') =>
  splitChapters(content, kind).map((c) => c.title);

describe('countWords', () => {
  it('counts runs of non-whitespace, including across line breaks and unicode spaces', () => {
    expect(countWords('  It was a dark — and\nstormy\u00a0night. ')).toBe(8);
    expect(countWords('')).toBe(0);
    expect(countWords(' \n\t ')).toBe(0);
  });
});

describe('splitChapters: headings', () => {
  it('starts a chapter at # and ## headings, titles without the #s, content without the heading', () => {
    const chapters = splitChapters('# The Start\n\nIt began.\n\n## The Middle ##\nIt went on.\n', 'book');
    expect(chapters).toEqual([
      { index: 0, title: 'The Start', content: 'It began.', wordCount: 2 },
      { index: 1, title: 'The Middle', content: 'It went on.', wordCount: 3 },
    ]);
  });

  it('keeps ### headings and inner formatting inside the chapter', () => {
    const [chapter, ...rest] = splitChapters('# One\n\n\nFirst line\n\n### A scene\n  indented *text*\n\n\n', 'book');
    expect(rest).toEqual([]);
    expect(chapter).toMatchObject({ title: 'One', content: 'First line\n\n### A scene\n  indented *text*' });
  });

  it('does not treat #word (no space) or an empty # as a heading', () => {
    expect(titles('# Real\n#hashtag\n#\nbody')).toEqual(['Real']);
  });

  it('starts a chapter at "Chapter <word>" and "CHAPTER <word>" lines, kept whole', () => {
    const content = 'Chapter One\nA.\n  \nCHAPTER 2: The Return  \nB.\nChapter IV\nC.';
    expect(titles(content)).toEqual(['Chapter One', 'CHAPTER 2: The Return', 'Chapter IV']);
  });

  it('does not split at "Chapters are…", a lone "Chapter", "chapter one" or "Chapter" + spaces', () => {
    const content = '# Only\nChapters are where it starts.\nChapter\nchapter one\nChapter    \nCHAPTERS 3';
    const chapters = splitChapters(content, 'book');
    expect(chapters.map((c) => c.title)).toEqual(['Only']);
    expect(chapters[0]!.content).toBe('Chapters are where it starts.\nChapter\nchapter one\nChapter    \nCHAPTERS 3');
  });

  it('keeps a heading with no text as an empty chapter', () => {
    expect(splitChapters('# A\n# B\ntext', 'book')).toEqual([
      { index: 0, title: 'A', content: '', wordCount: 0 },
      { index: 1, title: 'B', content: 'text', wordCount: 1 },
    ]);
  });
});

describe('splitChapters: a leading title heading', () => {
  it('reads a level-1 heading on the first line, followed only by level-2 chapters, as the title, not a chapter', () => {
    expect(splitChapters('# The Book\n\n## One\nFirst.\n\n## Two\nSecond.', 'book')).toEqual([
      { index: 0, title: 'One', content: 'First.', wordCount: 1 },
      { index: 1, title: 'Two', content: 'Second.', wordCount: 1 },
    ]);
  });

  it('does so after leading blank lines, and with Windows line ends', () => {
    expect(titles('\n  \n# The Book\r\n\r\n## One\r\nFirst.\r\n## Two\r\nSecond.')).toEqual(['One', 'Two']);
  });

  it('keeps the level-1 heading as a chapter when text comes before it', () => {
    expect(titles('A dedication.\n\n# The Book\n## One\nFirst.')).toEqual(['Preface', 'The Book', 'One']);
  });

  it('keeps it as a chapter when it has body text of its own before the first level-2 heading', () => {
    expect(splitChapters('# Part One\nAn opening.\n## One\nFirst.', 'book').map((c) => [c.title, c.content])).toEqual([
      ['Part One', 'An opening.'],
      ['One', 'First.'],
    ]);
  });

  it('keeps it when a level-1 heading or a "Chapter" line follows instead of a level-2 heading', () => {
    expect(titles('# A\n# B\ntext')).toEqual(['A', 'B']);
    expect(titles('# The Book\nChapter One\nFirst.')).toEqual(['The Book', 'Chapter One']);
    expect(titles('# The Book\n### A scene\n## One\nFirst.')).toEqual(['The Book', 'One']);
  });

  it('keeps a lone level-1 heading with text, and later level-1 headings between level-2 chapters', () => {
    expect(titles('# Only\nText.')).toEqual(['Only']);
    expect(titles('# The Book\n## One\nFirst.\n# Part Two\n## Two\nSecond.')).toEqual(['One', 'Part Two', 'Two']);
  });
});

describe('splitChapters: preface', () => {
  it('turns non-blank text before the first heading into a Preface chapter', () => {
    const chapters = splitChapters('\n\nA dedication.\n\n# One\nBody.', 'book');
    expect(chapters.map(({ index, title, content }) => ({ index, title, content }))).toEqual([
      { index: 0, title: 'Preface', content: 'A dedication.' },
      { index: 1, title: 'One', content: 'Body.' },
    ]);
  });

  it('adds no Preface when only blank lines come first', () => {
    expect(titles('\n   \n\t\n# One\nBody.')).toEqual(['One']);
  });
});

describe('splitChapters: screenplays', () => {
  const script = 'FADE IN:\n\nINT. KITCHEN - NIGHT\nShe waits.\n\nEXT. GARDEN - DAY\nRain.\n\n' +
    'INT./EXT. CAR - MOVING\nThey drive.\n\nI/E. DOORWAY - DUSK\nHe turns.';

  it('starts a scene at INT., EXT., INT./EXT. and I/E. headings for kind screenplay', () => {
    const chapters = splitChapters(script, 'screenplay');
    expect(chapters.map((c) => c.title)).toEqual([
      'Preface',
      'INT. KITCHEN - NIGHT',
      'EXT. GARDEN - DAY',
      'INT./EXT. CAR - MOVING',
      'I/E. DOORWAY - DUSK',
    ]);
    expect(chapters[3]).toMatchObject({ index: 3, content: 'They drive.', wordCount: 2 });
  });

  it('ignores scene headings for kind book', () => {
    const chapters = splitChapters(script, 'book');
    expect(chapters).toHaveLength(1);
    expect(chapters[0]!.title).toBe('Part 1');
    expect(chapters[0]!.content).toContain('INT. KITCHEN - NIGHT');
  });

  it('still splits screenplays at Markdown and Chapter headings', () => {
    expect(titles('# Act One\nINT. HALL - DAY\nx\nCHAPTER TWO\ny', 'screenplay')).toEqual([
      'Act One',
      'INT. HALL - DAY',
      'CHAPTER TWO',
    ]);
  });
});

describe('splitChapters: no headings', () => {
  it('cuts at paragraph ends into parts of about 2,000 words', () => {
    const paragraphs = Array.from({ length: 30 }, (_, i) => prose(300, `p${i}w`));
    const chapters = splitChapters(paragraphs.join('\n\n'), 'book');
    expect(chapters.map((c) => c.title)).toEqual(chapters.map((_, i) => `Part ${i + 1}`));
    expect(chapters.map((c) => c.wordCount).reduce((a, b) => a + b)).toBe(9000);
    for (const chapter of chapters.slice(0, -1)) {
      expect(chapter.wordCount).toBeGreaterThanOrEqual(1500);
      expect(chapter.wordCount).toBeLessThanOrEqual(2500);
    }
    // Every part is made of whole paragraphs.
    const rejoined = chapters.map((c) => c.content).join('\n\n');
    expect(rejoined).toBe(paragraphs.join('\n\n'));
  });

  it('gives one part to a short text', () => {
    expect(splitChapters('Just a few words.\nOn two lines.', 'book')).toEqual([
      { index: 0, title: 'Part 1', content: 'Just a few words.\nOn two lines.', wordCount: 7 },
    ]);
  });

  it('cuts a single paragraph of over 4,000 words at sentence ends', () => {
    const chapters = splitChapters(prose(11_000), 'book');
    expect(chapters.length).toBeGreaterThanOrEqual(4);
    expect(chapters.map((c) => c.wordCount).reduce((a, b) => a + b)).toBe(11_000);
    for (const chapter of chapters) {
      expect(chapter.wordCount).toBeLessThanOrEqual(4000);
      expect(chapter.content).toMatch(/^word\d+/);
    }
    for (const chapter of chapters.slice(0, -1)) expect(chapter.content.endsWith('.')).toBe(true);
  });

  it('cuts a paragraph with no sentence end at all so no part exceeds 4,000 words', () => {
    const chapters = splitChapters(prose(9000).replaceAll('.', ''), 'book');
    expect(chapters.map((c) => c.wordCount)).toEqual([4000, 4000, 1000]);
  });
});

describe('splitChapters: input shapes', () => {
  it('normalises CRLF and CR line endings', () => {
    const chapters = splitChapters('Intro\r\n\r\n# One\r\nLine one\r\nLine two\r\r## Two\rEnd\r\n', 'book');
    expect(chapters.map(({ title, content }) => ({ title, content }))).toEqual([
      { title: 'Preface', content: 'Intro' },
      { title: 'One', content: 'Line one\nLine two' },
      { title: 'Two', content: 'End' },
    ]);
  });

  it.each(['', '   ', '\n\n\t\r\n  \u00a0\n'])('returns [] for empty or whitespace-only content %j', (content) => {
    expect(splitChapters(content, 'book')).toEqual([]);
  });

  it('splits a 2,000-chapter manuscript into 2,000 consecutive chapters', () => {
    const content = Array.from({ length: 2000 }, (_, i) => `## Chapter ${i + 1}\n\n${prose(20)}\n`).join('\n');
    const chapters = splitChapters(content, 'book');
    expect(chapters).toHaveLength(2000);
    expect(chapters.every((c, i) => c.index === i && c.title === `Chapter ${i + 1}` && c.wordCount === 20)).toBe(true);
  });

  it('handles hostile input (10 MB of "#", of spaces, of newlines) in linear time', () => {
    const hashes = '#'.repeat(10_000_000);
    expect(splitChapters(hashes, 'book')).toMatchObject([{ title: 'Part 1', wordCount: 1 }]);
    expect(splitChapters(' '.repeat(10_000_000), 'screenplay')).toEqual([]);
    expect(splitChapters('\n'.repeat(10_000_000), 'book')).toEqual([]);
    expect(titles(`# ${' '.repeat(10_000_000)}x`)).toEqual(['x']);
    expect(titles(`Chapter ${' '.repeat(10_000_000)}`)).toEqual(['Part 1']);
  });
});

describe('splitChapters: limits', () => {
  it('cuts a heading line to its first 500 characters', () => {
    const long = 'x'.repeat(2_000_000);
    const titles = splitChapters(`# ${long}\nBody.\nChapter ${long}\nMore.\nINT. ${long}\nAction.`, 'screenplay').map((c) => c.title);
    expect(titles).toEqual(['x'.repeat(500), `Chapter ${'x'.repeat(492)}`, `INT. ${'x'.repeat(495)}`]);
  });

  it('never cuts a title inside a surrogate pair', () => {
    const [chapter] = splitChapters(`# ${'x'.repeat(499)}😀😀\nBody.`, 'book');
    expect(chapter!.title).toBe('x'.repeat(499));
  });

  it('stops at the first chapter past the limit', () => {
    const chapters = splitChapters('Intro.\n' + '# a\nText.\n'.repeat(2_000_000), 'book', { limit: 10_000 });
    expect(chapters).toHaveLength(10_001);
    expect(chapters[0]!.title).toBe('Preface');
  });

  it('gives every chapter when there are no more than the limit', () => {
    expect(splitChapters('# a\nA.\n# b\nB.', 'book', { limit: 2 }).map((c) => c.title)).toEqual(['a', 'b']);
    expect(splitChapters('# a\nA.\n# b\nB.\n# c', 'book', { limit: 2 })).toHaveLength(3);
  });
});

describe('splitChaptersInSlices', () => {
  it('gives what splitChapters gives', async () => {
    const content = '# One\n' + 'Words and more words. '.repeat(50_000) + '\n# Two\nEnd.';
    expect(await splitChaptersInSlices(content, 'book', { limit: 10 })).toEqual(splitChapters(content, 'book', { limit: 10 }));
    const unheaded = 'a b c.\n\n'.repeat(100_000);
    expect(await splitChaptersInSlices(unheaded, 'book')).toEqual(splitChapters(unheaded, 'book'));
  });
});
