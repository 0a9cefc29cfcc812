import type { DocumentStatus } from '../client/index.ts';
import type { DocumentSummary } from './api.ts';
import { $, h } from './dom.ts';

const LABEL: Record<DocumentStatus, string> = { processing: 'Analysing', completed: 'Ready', partial: 'Partial' };

/** The sidebar's list of the writer's manuscripts; the open one is marked, and its status follows the live state. */
export function createDocList(sidebar: HTMLElement, onOpen: (documentId: string) => void) {
  const list = $<HTMLUListElement>('.doc-list', sidebar);
  let documents: DocumentSummary[] = [];
  let current: string | undefined;

  function render(): void {
    if (documents.length === 0) return void list.replaceChildren(h('li', { class: 'empty' }, 'Nothing here yet.'));
    list.replaceChildren(
      ...documents.map((d) => {
        const button = h(
          'button',
          { type: 'button', 'data-testid': 'doc-item', 'data-document-id': d.id, 'aria-current': d.id === current ? 'true' : 'false' },
          h('span', { class: 'doc-name' }, d.title),
          h('span', { class: 'pill' }, LABEL[d.status]),
        );
        button.addEventListener('click', () => onOpen(d.id));
        return h('li', {}, button);
      }),
    );
  }

  return {
    set(next: DocumentSummary[]): void {
      documents = next;
      render();
    },
    select(documentId: string | undefined): void {
      current = documentId;
      render();
    },
    /** The list could not be read (the reason is shown elsewhere: a toast, the sign-in screen). */
    failed(): void {
      if (documents.length === 0) list.replaceChildren(h('li', { class: 'empty' }, 'Your manuscripts could not be loaded.'));
    },
    /** The title of a listed manuscript. */
    titleOf(documentId: string): string | undefined {
      return documents.find((d) => d.id === documentId)?.title;
    },
    updateStatus(documentId: string, status: DocumentStatus): void {
      const d = documents.find((x) => x.id === documentId);
      if (!d || d.status === status) return;
      d.status = status;
      render();
    },
  };
}
