/**
 * Every text function runs in linear time on hostile input: each 1 MB input
 * below (long runs of spaces, one huge line, repeated heading prefixes, many
 * short headings, many blank lines, long runs of punctuation) must finish
 * within a generous CPU budget. Linear code needs tens of milliseconds; a
 * quadratic regression needs minutes, so the budget catches it without being
 * a timing test.
 */
import { describe, expect, it } from 'vitest';
import { embedText, summarizeText } from '../../jobs/ai/builtin.ts';
import { digestChapter } from '../../domain/package/essential.ts';
import { extractCharacters } from '../../domain/text/characters.ts';
import { keyTerms } from '../../domain/text/key-terms.ts';
import { countWords, splitChapters } from '../../domain/text/split-chapters.ts';

const MB = 1 << 20;
/** CPU time one call may take on 1 MB. */
const BUDGET_MS = 1000;

/** `unit` repeated to about 1 MB. */
const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length));

const INPUTS: Record<string, string> = {
  'long lines of spaces': fill(`A${' '.repeat(60_000)}B\n`),
  'cue-like lines of spaces': fill(`AA\t${' '.repeat(60_000)}AA()\nHello.\n`),
  'tabs and spaces': fill(' \t'),
  'one huge line of one letter': 'a'.repeat(MB),
  'one huge upper-case line': 'A'.repeat(MB),
  'one huge word with an apostrophe tail': `A${"'".repeat(MB)}`,
  '# # # # …': fill('# '),
  'Chapter Chapter …': fill('Chapter '),
  'INT. INT. …': fill('INT. '),
  'many short headings': fill('# a\n'),
  'many chapter lines': fill('Chapter 1\n'),
  'many scene headings': fill('INT. A\n'),
  'many blank lines': '\n'.repeat(MB),
  'blank lines of spaces': fill(' \n'),
  'many one-word paragraphs': fill('a\n\n'),
  'full stops': '.'.repeat(MB),
  'sentence ends and quotes': fill('.”) '),
  'hyphens between letters': fill('a-'),
  'apostrophes between letters': fill("a'"),
  'honorifics': fill('Mr. '),
  'open brackets': '('.repeat(MB),
  'distinct capitalised words': Array.from({ length: MB / 6 }, (_, i) => `Q${(i + 46_656).toString(36)} `).join(''),
  'non-Latin letters': fill('Ωμέγα λέξη. '),
};

const FUNCTIONS: Record<string, (text: string) => unknown> = {
  'splitChapters (book)': (t) => splitChapters(t, 'book'),
  'splitChapters (screenplay)': (t) => splitChapters(t, 'screenplay'),
  countWords: (t) => countWords(t),
  'extractCharacters (book)': (t) => extractCharacters(t, 'book'),
  'extractCharacters (screenplay)': (t) => extractCharacters(t, 'screenplay'),
  keyTerms: (t) => keyTerms([t, t.slice(0, 1000)], ['Mara']),
  'digestChapter (book)': (t) => digestChapter(t, 'book'),
  'digestChapter (screenplay)': (t) => digestChapter(t, 'screenplay'),
  summarizeText: (t) => summarizeText(t),
  embedText: (t) => embedText(t),
};

describe.each(Object.entries(FUNCTIONS))('%s on 1 MB of hostile text', (_, run) => {
  it.each(Object.keys(INPUTS))('%s: within the CPU budget', (name) => {
    const before = process.cpuUsage();
    run(INPUTS[name]!);
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).toBeLessThan(BUDGET_MS);
  });
});
