/**
 * Every regular expression in server/, jobs/, realtime/ and sql/ runs in
 * linear time: each regex literal, and each `new RegExp(…)` (a template's
 * `${…}` parts stand in as the letter `x`: the code escapes what it
 * interpolates), goes through the `recheck` ReDoS analyser. A `vulnerable`
 * verdict fails with the file, the line and recheck's attack string.
 *
 * The backend is chosen explicitly, never a JVM: recheck's native agent
 * where npm installed its binary for this platform (the optional
 * `recheck-<os>-<arch>` package: offline, about five times faster), else its
 * pure-JavaScript backend (the same analysis, slower). RECHECK_BACKEND
 * overrides. The fuzzing is seeded, so a run is reproducible.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FOLDERS = ['domain', 'server', 'jobs', 'realtime', 'sql'];

interface FoundRegex {
  where: string;
  source: string;
  flags: string;
}

describe('regular expressions', () => {
  it('none is vulnerable to ReDoS (recheck)', { timeout: 120_000 }, async () => {
    process.env.RECHECK_BACKEND ??= hasNativeAgent() ? 'native' : 'pure';
    const { check } = await import('recheck');
    const found = FOLDERS.flatMap((folder) => sourceFiles(join(ROOT, folder))).flatMap(findRegexes);
    expect(found.length).toBeGreaterThan(30); // the finder itself still works

    const verdicts = new Map<string, Promise<string | undefined>>();
    for (const { source, flags } of found) {
      const key = `/${source}/${flags}`;
      if (verdicts.has(key)) continue;
      const verdict = check(source, flags, { randomSeed: 42, timeout: 30_000 }).then((d) =>
        d.status === 'vulnerable' ? `${d.complexity.type}; attack ${d.attack.pattern}` : d.status === 'unknown' ? `unknown (${d.error.kind})` : undefined,
      );
      verdicts.set(key, verdict);
    }
    const failures: string[] = [];
    for (const regex of found) {
      const key = `/${regex.source}/${regex.flags}`;
      const problem = await verdicts.get(key)!;
      if (problem) failures.push(`${regex.where} ${key}: ${problem}`);
    }
    expect(failures, `backend ${process.env.RECHECK_BACKEND}`).toEqual([]);
  });
});

function hasNativeAgent(): boolean {
  const os = { linux: 'linux', darwin: 'macos', win32: 'windows' }[process.platform as string];
  try {
    createRequire(import.meta.url).resolve(`recheck-${os}-${process.arch}/package.json`);
    return true;
  } catch {
    return false;
  }
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function findRegexes(file: string): FoundRegex[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: FoundRegex[] = [];
  const where = (node: ts.Node) => `${relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
  const visit = (node: ts.Node): void => {
    if (node.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const text = node.getText(source);
      const end = text.lastIndexOf('/');
      found.push({ where: where(node), source: text.slice(1, end), flags: text.slice(end + 1) });
    } else if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'RegExp') {
      const [pattern, flags] = node.arguments ?? [];
      const patternText = pattern && constantText(pattern);
      if (patternText === undefined) throw new Error(`${where(node)}: RegExp built from something other than a string or template literal; check it by hand and extend this test`);
      found.push({ where: where(node), source: patternText, flags: (flags && constantText(flags)) ?? '' });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** A string literal's value, or a template's with each `${…}` as `x`. */
function constantText(node: ts.Expression): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text + node.templateSpans.map((span) => `x${span.literal.text}`).join('');
  return undefined;
}
