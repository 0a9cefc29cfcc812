import { describe, expect, it } from 'vitest';
import { AppError } from '../../server/errors.ts';
import { decodeUploadedText, isJsonMediaType, mayHaveBody, mediaTypeOf, singleValuedFields } from '../../server/upload-input.ts';

const bytes = (...values: number[]) => new Uint8Array(values);

describe('decodeUploadedText', () => {
  it('reads UTF-8, with or without its byte order mark', () => {
    expect(decodeUploadedText(new TextEncoder().encode('déjà 夜 🌙'))).toBe('déjà 夜 🌙');
    expect(decodeUploadedText(bytes(0xef, 0xbb, 0xbf, 0x68, 0xc3, 0xa9))).toBe('hé');
  });

  it('reads UTF-16 by its byte order mark, little- and big-endian', () => {
    expect(decodeUploadedText(bytes(0xff, 0xfe, 0x68, 0x00, 0xe9, 0x00))).toBe('hé');
    expect(decodeUploadedText(bytes(0xfe, 0xff, 0x00, 0x68, 0x00, 0xe9))).toBe('hé');
    expect(decodeUploadedText(bytes(0xfe, 0xff, 0xd8, 0x3c, 0xdf, 0x19))).toBe('🌙');
  });

  it('reads an empty file as empty text', () => {
    expect(decodeUploadedText(bytes())).toBe('');
  });

  it.each([
    ['Latin-1 é', bytes(0x68, 0xe9)],
    ['a truncated UTF-8 sequence', bytes(0x68, 0xe2, 0x82)],
    ['an overlong UTF-8 encoding', bytes(0xc0, 0xaf)],
    ['UTF-16 with an odd byte count', bytes(0xff, 0xfe, 0x68)],
    ['UTF-16 with a lone surrogate', bytes(0xfe, 0xff, 0xd8, 0x3c, 0x00, 0x68)],
    ['UTF-32 LE', bytes(0xff, 0xfe, 0x00, 0x00, 0x68, 0x00, 0x00, 0x00)],
    ['UTF-32 BE', bytes(0x00, 0x00, 0xfe, 0xff, 0x00, 0x00, 0x00, 0x68)],
  ])('refuses %s', (_, input) => {
    expect(decodeUploadedText(input)).toBeUndefined();
  });
});

describe('media types', () => {
  it.each([
    ['application/json', 'application/json'],
    ['APPLICATION/JSON', 'application/json'],
    ['Application/Json ; charset=UTF-8', 'application/json'],
    ['Multipart/Form-Data; boundary=----x', 'multipart/form-data'],
    ['', ''],
    [null, ''],
  ])('%j is %j', (header, type) => {
    expect(mediaTypeOf(header)).toBe(type);
  });

  it('knows JSON and +json types from others', () => {
    expect(['application/json', 'application/merge-patch+json'].every(isJsonMediaType)).toBe(true);
    expect(['application/jsonp', 'text/json', 'application/json2', ''].some(isJsonMediaType)).toBe(false);
  });
});

describe('singleValuedFields', () => {
  it('takes each named field once and ignores the rest', () => {
    const form = new FormData();
    form.set('title', 'T');
    form.append('other', 'a');
    form.append('other', 'b');
    expect(singleValuedFields(form, ['title', 'kind'])).toEqual({ title: 'T' });
  });

  it('refuses a named field sent twice, naming each', () => {
    const form = new FormData();
    for (const name of ['file', 'file', 'kind', 'kind', 'title']) form.append(name, 'x');
    try {
      singleValuedFields(form, ['file', 'title', 'kind']);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(400);
      expect(((error as AppError).details as { field: string }[]).map((d) => d.field)).toEqual(['file', 'kind']);
    }
  });
});

describe('mayHaveBody', () => {
  const node = (headers: Record<string, string>) => ({ headers });
  it('says no for GET and HEAD, and for a Node request only yes when HTTP/1.1 frames a body', () => {
    expect(mayHaveBody('GET', node({ 'content-length': '12' }))).toBe(false);
    expect(mayHaveBody('HEAD', undefined)).toBe(false);
    expect(mayHaveBody('POST', node({}))).toBe(false);
    expect(mayHaveBody('POST', node({ 'content-length': '0' }))).toBe(false);
    expect(mayHaveBody('POST', node({ 'content-length': ' 0 ' }))).toBe(false);
    expect(mayHaveBody('POST', node({ 'content-length': '12' }))).toBe(true);
    expect(mayHaveBody('PATCH', node({ 'transfer-encoding': 'chunked' }))).toBe(true);
    expect(mayHaveBody('POST', node({ 'transfer-encoding': 'chunked', 'content-length': '0' }))).toBe(true);
  });

  it('says yes for a request built in the process, which has no framing headers', () => {
    expect(mayHaveBody('POST', undefined)).toBe(true);
    expect(mayHaveBody('DELETE', undefined)).toBe(true);
  });
});
