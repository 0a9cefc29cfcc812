import type { DocumentKind } from '../client/index.ts';
import { $ } from './dom.ts';

export interface ComposeInput {
  title: string;
  kind: DocumentKind;
  content: string;
}

/**
 * The new-manuscript form: paste into the textarea, or open or drop a file
 * (its text goes into the textarea, its name into an empty title).
 * `onUpload` gets what to send; the form stays filled if it fails.
 */
export function createCompose(section: HTMLElement, onUpload: (input: ComposeInput) => Promise<void>) {
  const title = $<HTMLInputElement>('[data-testid=title]', section);
  const content = $<HTMLTextAreaElement>('[data-testid=content]', section);
  const button = $<HTMLButtonElement>('[data-testid=upload]', section);
  const file = $<HTMLInputElement>('input[type=file]', section);
  const count = $('.word-count', section);

  const updateCount = () => {
    const words = content.value.trim() ? content.value.trim().split(/\s+/).length : 0;
    count.textContent = `${words.toLocaleString()} ${words === 1 ? 'word' : 'words'}`;
  };
  const load = async (f: File) => {
    content.value = await f.text();
    if (!title.value.trim()) title.value = f.name.replace(/\.[^.]*$/, '');
    updateCount();
  };

  content.addEventListener('input', updateCount);
  file.addEventListener('change', () => void (file.files?.[0] && load(file.files[0])));
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('dragging');
    const dropped = e.dataTransfer?.files[0];
    if (dropped) void load(dropped);
  });

  button.addEventListener('click', async () => {
    const kind = ($<HTMLInputElement>('input[name=kind]:checked', section).value as ComposeInput['kind']) ?? 'book';
    button.disabled = true;
    try {
      await onUpload({ title: title.value.trim() || firstHeading(content.value) || 'Untitled manuscript', kind, content: content.value });
    } finally {
      button.disabled = false;
    }
  });

  return {
    show(): void {
      section.hidden = false;
    },
    hide(): void {
      section.hidden = true;
    },
    clear(): void {
      title.value = '';
      content.value = '';
      updateCount();
    },
    disable(): void {
      button.disabled = true;
    },
  };
}

function firstHeading(text: string): string | undefined {
  return /^#{1,2}\s+(.+)$/m.exec(text)?.[1]?.trim();
}
