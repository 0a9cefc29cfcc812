/** A multipart form holding one manuscript file, as the editor page sends it. */
export const fileForm = (bytes: Uint8Array, name = 'novel.md') => {
  const form = new FormData();
  form.set('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'text/markdown' }), name);
  return form;
};

/** `text` encoded as UTF-16 with its byte-order mark, little- or big-endian. */
export const utf16 = (text: string, order: 'le' | 'be') => {
  const le = Buffer.from(`\ufeff${text}`, 'utf16le');
  return new Uint8Array(order === 'le' ? le : le.swap16());
};
