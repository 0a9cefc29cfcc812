import type { DocumentState } from '../client/index.ts';
import type { Api } from './api.ts';
import { $ } from './dom.ts';
import { download, fileName, packageMarkdown } from './package-export.ts';
import { renderPackage } from './package-view.ts';

type Content = Record<string, unknown>;

export interface PackageControlsDeps {
  api: Api;
  /** Keeps a package the API answered, so the view shows it until the socket's event catches up. */
  keep(documentId: string, content: Content): void;
  /** Says what went wrong, in a writer's words. */
  fail(title: string, error: unknown): void;
}

/**
 * The package panel's controls: build (POST the package request), export
 * as Markdown or JSON, and the "out of date" badge that `artifact.stale`
 * raises and a newer package clears.
 */
export function createPackageControls(panel: HTMLElement, deps: PackageControlsDeps) {
  const build = $<HTMLButtonElement>('[data-testid=package-build]', panel);
  const exportMd = $<HTMLButtonElement>('[data-testid=package-export]', panel);
  const exportJson = $<HTMLButtonElement>('[data-testid=package-export-json]', panel);
  const stale = $('.stale-badge', panel);
  let shown: { id: string; title: string; content: Content | null; builtAt: unknown } | undefined;

  build.addEventListener('click', async () => {
    if (!shown) return;
    const { id, title } = shown;
    build.disabled = true;
    try {
      const content = await deps.api.buildPackage(id);
      deps.keep(id, content);
      if (shown?.id !== id) return;
      if (!panel.dataset.stage) renderPackage(panel, 'essential', content);
      show(id, title, content);
    } catch (error) {
      deps.fail('The package could not be built', error);
    } finally {
      build.disabled = false;
    }
  });
  exportMd.addEventListener('click', () => {
    if (shown?.content) download(fileName(shown.title, 'md'), packageMarkdown(shown.title, shown.content), 'text/markdown');
  });
  exportJson.addEventListener('click', () => {
    if (shown?.content) download(fileName(shown.title, 'json'), `${JSON.stringify(shown.content, null, 2)}\n`, 'application/json');
  });

  function show(id: string, title: string, content: Content | null): void {
    // A package built after the last edit clears the badge; a new document starts clear.
    if (shown?.id !== id || (content && content.built_at !== shown.builtAt)) stale.hidden = true;
    shown = { id, title, content, builtAt: content?.built_at };
    const ready = !!content && Object.keys(content).length > 0 && content.abridged !== true;
    exportMd.disabled = exportJson.disabled = !ready;
    build.textContent = content ? 'Rebuild package' : 'Build package';
  }

  return {
    /** Follows the open document: its title and the package content the view shows. */
    update(state: DocumentState, content: Content | null): void {
      show(state.id, state.title ?? 'Untitled', state.package.stage ? content : shown?.id === state.id ? shown.content : null);
    },
    /** An edit made the package's outline or characters out of date. */
    markStale(): void {
      if (shown?.content) stale.hidden = false;
    },
  };
}
