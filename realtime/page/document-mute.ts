import type { DocumentState } from '../client/index.ts';
import type { Api } from './api.ts';
import { $ } from './dom.ts';

/**
 * "Notify me about this manuscript": unticked, the writer's notifications
 * about the open document are neither stored nor pushed (the inbox's mute,
 * `PUT /api/documents/:id/notifications`). Read again each time another
 * document opens.
 */
export function createDocumentMute(section: HTMLElement, deps: { api: Api; fail(title: string, error: unknown): void }) {
  const box = $<HTMLInputElement>('[data-testid=document-notify]', section);
  let documentId: string | undefined;

  box.addEventListener('change', () => {
    const id = documentId;
    if (!id) return;
    const notify = box.checked;
    box.disabled = true;
    deps.api
      .setMuted(id, !notify)
      .catch((error: unknown) => {
        if (documentId === id) box.checked = !notify;
        deps.fail('Could not change the notifications of this manuscript', error);
      })
      .finally(() => (box.disabled = false));
  });

  return {
    update(state: DocumentState): void {
      if (state.id === documentId) return;
      const id = (documentId = state.id);
      box.checked = true;
      box.disabled = true;
      void deps.api.isMuted(id).then(
        (muted) => {
          if (documentId !== id) return;
          box.checked = !muted;
          box.disabled = false;
        },
        () => documentId === id && (box.disabled = false),
      );
    },
  };
}
