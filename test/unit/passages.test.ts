import { describe, expect, it } from 'vitest';
import { splitPassages } from '../../domain/text/passages.ts';

/** What the passages were before: the regex split, kept here as the reference on ordinary text. */
const byRegex = (text: string) => text.split(/\n\s*\n|(?<=[.!?…])\s+/u).map((p) => p.replace(/\s+/g, ' ').trim()).filter(Boolean);
const normalised = (passages: string[]) => passages.map((p) => p.replace(/\s+/g, ' ').trim()).filter(Boolean);

describe('splitPassages', () => {
  it('splits at blank lines and after sentence ends, as the regex did', () => {
    const text = 'Mara came in. She sat down!\nWhy?  Nobody knew…\n\nA new paragraph\nstill going\n \n\nAnd the last one';
    expect(normalised(splitPassages(text))).toEqual(byRegex(text));
    expect(normalised(splitPassages(text))).toEqual(['Mara came in.', 'She sat down!', 'Why?', 'Nobody knew…', 'A new paragraph still going', 'And the last one']);
  });

  it('keeps text without separators whole, and gives one empty passage for empty text', () => {
    expect(splitPassages('one line without an end')).toEqual(['one line without an end']);
    expect(splitPassages('')).toEqual(['']);
  });

  it('is linear on runs that make backtracking regexes slow', () => {
    for (const text of ['!'.repeat(1_000_000) + '\n\n', `\n${' '.repeat(1_000_000)}x`, '\n '.repeat(500_000), '.'.repeat(500_000) + ' '.repeat(500_000)]) {
      const cpu = process.cpuUsage();
      splitPassages(text);
      const { user, system } = process.cpuUsage(cpu);
      expect((user + system) / 1000).toBeLessThan(1000); // generous: linear code takes a few ms on 1 MB
    }
  });
});
