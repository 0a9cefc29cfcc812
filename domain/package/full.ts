import type { DocumentKind } from '../vocabulary.ts';
import type { StoredArtifact } from './artifacts.ts';
import { keyTerms, type KeyTerm } from '../text/key-terms.ts';
import { buildEssentialPackage, factsFromTexts, topCharacters, type EssentialPackage } from './essential.ts';
import { splitPassages } from '../text/passages.ts';

/** The one model call the package builders make (jobs/ai's providers have it). */
export interface Summarizer {
  /** A short summary of the text. Empty text gives an empty summary. */
  summarize(text: string, options?: { signal?: AbortSignal }): Promise<string>;
}

/** A chapter's text and version, for building packages. */
export interface ChapterText {
  id: string;
  index: number;
  title: string;
  content: string;
  word_count: number;
  version: number;
}

/** A chapter with its text and its stored summary, if any (`summary_version`: the chapter version it came from). */
export interface SummarizedChapter extends ChapterText {
  summary: string | null;
  summary_version: number | null;
}

/** The document-level summary, built from the chapter summaries. */
export interface OutlineContent {
  summary: string;
  chapters: { id: string; index: number; title: string; summary: string | null; summary_version: number | null }[];
  built_at: string;
}

/** One character's sheet, built from the passages that mention them. */
export interface CharacterSheet {
  name: string;
  mentions: number;
  /** Indexes of the chapters that mention the character. */
  chapters: number[];
  summary: string;
  built_at: string;
}

/** The full package: the essential one plus the AI parts. */
export interface FullPackage extends Omit<EssentialPackage, 'stage' | 'chapters'> {
  stage: 'full';
  chapters: { id: string; index: number; title: string; version: number; summary: string | null; summary_version: number | null }[];
  outline: OutlineContent;
  character_sheets: CharacterSheet[];
  key_terms: KeyTerm[];
}

/** What the full build reads: the document and its chapters with their texts and stored summaries. */
export interface FullPackageSource {
  document: { id: string; title: string; kind: DocumentKind };
  chapters: SummarizedChapter[];
}

/** Characters that get a sheet in the full package. */
export const SHEET_CHARACTERS = 8;
/** Text about one character handed to the model, at most. */
const CHARACTER_CONTEXT_CHARS = 8000;

/**
 * Builds the full package and the artifacts it contains (outline, sheets),
 * each with the chapter versions it came from. The model calls run in
 * parallel: one for the outline, one per character.
 */
export async function buildFullPackage(ai: Summarizer, source: FullPackageSource, signal?: AbortSignal) {
  const essential = buildEssentialPackage(factsFromTexts(source), new Date());
  const names = topCharacters(source.chapters.map((c) => c.content), source.document.kind, SHEET_CHARACTERS).map((c) => c.name);
  const [outline, ...sheets] = await Promise.all([
    buildOutline(ai, source.chapters, signal),
    ...names.map((name) => buildCharacterSheet(ai, name, source.chapters, signal)),
  ]);
  const pkg: FullPackage = {
    ...essential,
    stage: 'full',
    chapters: source.chapters.map((c) => ({
      id: c.id, index: c.index, title: c.title, version: c.version, summary: c.summary, summary_version: c.summary_version,
    })),
    outline: outline!.content as unknown as OutlineContent,
    character_sheets: sheets.map((s) => s.content as unknown as CharacterSheet),
    key_terms: keyTerms(source.chapters.map((c) => c.content), names),
  };
  const sourceVersions = Object.fromEntries(source.chapters.map((c) => [c.id, c.version]));
  return { package: pkg, artifacts: [outline!, ...sheets], sourceVersions };
}

/** The outline from the stored chapter summaries; its sources are the versions those summaries came from. */
export async function buildOutline(ai: Summarizer, chapters: SummarizedChapter[], signal?: AbortSignal): Promise<StoredArtifact> {
  const text = chapters
    .filter((c) => c.summary)
    .map((c) => `${c.title}. ${c.summary}`)
    .join('\n\n');
  const content: OutlineContent = {
    summary: text ? await ai.summarize(text, { signal }) : '',
    chapters: chapters.map((c) => ({ id: c.id, index: c.index, title: c.title, summary: c.summary, summary_version: c.summary_version })),
    built_at: new Date().toISOString(),
  };
  const sourceVersions = Object.fromEntries(chapters.filter((c) => c.summary_version !== null).map((c) => [c.id, c.summary_version!]));
  return { kind: 'outline', name: '', content: { ...content }, sourceVersions };
}

/** A character's sheet from the passages that mention them; its sources are the chapter texts read. */
export async function buildCharacterSheet(
  ai: Summarizer,
  name: string,
  chapters: { id: string; index: number; content: string; version: number }[],
  signal?: AbortSignal,
): Promise<StoredArtifact> {
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(name)}(?![\\p{L}\\p{N}])`, 'giu');
  const passages: string[] = [];
  const seenIn: number[] = [];
  let mentions = 0;
  for (const chapter of chapters) {
    const found = splitPassages(chapter.content).filter((p) => {
      pattern.lastIndex = 0;
      return pattern.test(p);
    });
    if (found.length === 0) continue;
    seenIn.push(chapter.index);
    mentions += [...chapter.content.matchAll(pattern)].length;
    passages.push(...found.map((p) => p.replace(/\s+/g, ' ').trim()));
  }
  const context = passages.join(' ').slice(0, CHARACTER_CONTEXT_CHARS);
  const sheet: CharacterSheet = {
    name,
    mentions,
    chapters: seenIn,
    summary: context ? await ai.summarize(context, { signal }) : '',
    built_at: new Date().toISOString(),
  };
  const sourceVersions = Object.fromEntries(chapters.map((c) => [c.id, c.version]));
  return { kind: 'character', name, content: { ...sheet }, sourceVersions };
}

/** The stored package with the outline and sheets replaced by any fresher artifact (refreshed since the build). */
export function withFreshArtifacts<P extends Record<string, unknown>>(pkg: P, artifacts: Pick<StoredArtifact, 'kind' | 'name' | 'content'>[]): P {
  if (pkg.stage !== 'full') return pkg;
  const outline = artifacts.find((a) => a.kind === 'outline');
  const sheets = new Map(artifacts.filter((a) => a.kind === 'character').map((a) => [a.name, a.content]));
  const current = (pkg.character_sheets as CharacterSheet[] | undefined) ?? [];
  return {
    ...pkg,
    ...(outline && { outline: outline.content }),
    character_sheets: current.map((s) => sheets.get(s.name) ?? s),
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
