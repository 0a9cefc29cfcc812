import { describe, expect, it } from 'vitest';
import { buildEssentialPackage, digestChapter, factsFromTexts, openingParagraph, READING_WORDS_PER_MINUTE } from '../../domain/package/essential.ts';
import { keyTerms } from '../../domain/text/key-terms.ts';

const NOW = new Date('2026-01-02T03:04:05.000Z');

function source(kind: 'book' | 'screenplay', contents: string[]) {
  return factsFromTexts({
    document: { id: 'd1', title: 'The Long Winter', kind },
    chapters: contents.map((content, index) => ({
      id: `c${index}`,
      index,
      title: `Chapter ${index + 1}`,
      content,
      word_count: content.split(/\s+/).filter(Boolean).length,
      version: index + 1,
    })),
  });
}

describe('buildEssentialPackage', () => {
  it('gives title, kind, counts, reading time, chapters with versions, description and top characters', () => {
    const pkg = buildEssentialPackage(
      source('book', [
        'Snow fell on the harbour while Mara mended the nets.\n\nLater, Mara and Tomas argued.',
        'Tomas left at dawn. Mara watched Tomas go.',
      ]),
      NOW,
    );
    expect(pkg).toEqual({
      stage: 'essential',
      document_id: 'd1',
      title: 'The Long Winter',
      kind: 'book',
      word_count: 23,
      reading_minutes: 1,
      chapter_count: 2,
      chapters: [
        { id: 'c0', index: 0, title: 'Chapter 1', version: 1 },
        { id: 'c1', index: 1, title: 'Chapter 2', version: 2 },
      ],
      description: 'Snow fell on the harbour while Mara mended the nets.',
      characters: [
        { name: 'Mara', mentions: 3 },
        { name: 'Tomas', mentions: 3 },
      ],
      built_at: '2026-01-02T03:04:05.000Z',
    });
  });

  it('rounds the reading time to whole minutes at the documented speed', () => {
    const words = Array.from({ length: READING_WORDS_PER_MINUTE * 3 + 10 }, () => 'word').join(' ');
    expect(buildEssentialPackage(source('book', [words]), NOW).reading_minutes).toBe(3);
    expect(buildEssentialPackage(source('book', []), NOW)).toMatchObject({ word_count: 0, reading_minutes: 0, chapter_count: 0, description: '', characters: [] });
  });

  it('counts screenplay characters by cues across scenes', () => {
    const pkg = buildEssentialPackage(
      source('screenplay', ['INT. BOAT - NIGHT\n\nRain hammers the deck.\n\nMARA\nHold on!\n', 'EXT. PIER - DAY\n\nMARA\nWe made it.\n\nTOMAS\nBarely.\n']),
      NOW,
    );
    expect(pkg.description).toBe('Rain hammers the deck.');
    expect(pkg.characters).toEqual([
      { name: 'Mara', mentions: 2 },
      { name: 'Tomas', mentions: 1 },
    ]);
  });
});

describe('digestChapter', () => {
  it('stores the opening and the name statistics a package needs', () => {
    expect(digestChapter('Mara rowed. Then Mara slept.', 'book')).toEqual({
      opening: 'Mara rowed. Then Mara slept.',
      names: [{ name: 'Mara', total: 2, mid: 1, lower: false }],
    });
  });
});

describe('openingParagraph', () => {
  it('skips headings and all-caps lines and cuts long text at a word', () => {
    const long = `# Prologue\n\nTHE TOWER\n\n${'A very long sentence about the sea '.repeat(20)}`;
    const opening = openingParagraph(long);
    expect(opening.startsWith('A very long sentence')).toBe(true);
    const description = buildEssentialPackage(source('book', [long]), NOW).description;
    expect(description.endsWith('…')).toBe(true);
    expect(description.length).toBeLessThanOrEqual(280);
    expect(opening.startsWith(description.slice(0, -1))).toBe(true);
  });
});

describe('keyTerms', () => {
  it('ranks content words by TF-IDF, leaving out stopwords, short words and excluded names', () => {
    const terms = keyTerms(['The lantern glowed. The lantern flickered. Mara smiled.', 'A storm came over the harbour. Mara ran.'], ['Mara']);
    expect(terms[0]).toEqual({ term: 'lantern', count: 2 });
    expect(terms.map((t) => t.term)).not.toContain('mara');
    expect(terms.map((t) => t.term)).not.toContain('the');
  });
});
