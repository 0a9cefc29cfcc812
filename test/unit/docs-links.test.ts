import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The documentation names files and links pages; when code moves, these
 * break silently. Every relative link (and its #anchor) must resolve, and
 * every path in backticks that starts with one of the project's folders must
 * exist.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const FOLDERS = ['server', 'jobs', 'realtime', 'sql', 'domain', 'test', 'docs', 'patches', '.ci'];

/** Markdown without its fenced code blocks (examples, not references). */
function prose(page: string): string {
  return readFileSync(join(ROOT, page), 'utf8').replace(/^```[^\n]*\n[\s\S]*?^```$/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(page: string): Set<string> {
  const headings = prose(page).split('\n').filter((line) => /^#{1,6} /.test(line));
  return new Set(headings.map((h) => h.replace(/^#+ /, '').trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')));
}

function links(page: string): { target: string; anchor: string | undefined }[] {
  return [...prose(page).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((href) => !/^[a-z]+:/.test(href))
    .map((href) => {
      const [path, anchor] = href.split('#');
      const target = path ? relative(ROOT, join(ROOT, dirname(page), path)) : page;
      return { target, anchor };
    });
}

function pathsInBackticks(page: string): string[] {
  const pattern = new RegExp(`\`((?:${FOLDERS.map((f) => f.replace('.', '\\.')).join('|')})/[\\w./+-]*)\``, 'g');
  return [...prose(page).matchAll(pattern)].map((m) => m[1]!);
}

describe.each(PAGES)('%s', (page) => {
  it('links only to pages and anchors that exist', () => {
    const broken = links(page).filter(({ target, anchor }) => !existsSync(join(ROOT, target)) || (anchor && target.endsWith('.md') && !anchors(target).has(anchor)));
    expect(broken.map(({ target, anchor }) => (anchor ? `${target}#${anchor}` : target))).toEqual([]);
  });

  it('names only files and folders that exist', () => {
    expect(pathsInBackticks(page).filter((path) => !existsSync(join(ROOT, path)))).toEqual([]);
  });
});
