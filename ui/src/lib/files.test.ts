import { describe, expect, it } from 'vitest';
import { baseType, fmtBytes, isFileValue, isPreviewableImage, isTextType } from './files';

const file = {
  type: 'file',
  id: 'fil_3kQ9aBcDeFgHiJkLmNoPqR',
  name: 'hero.jpg',
  size: 5242880,
  content_type: 'image/jpeg',
  sha256: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  created_at: '2026-12-07T08:00:00.000Z',
};

describe('isFileValue', () => {
  it('accepts a file value as the server writes it', () => {
    expect(isFileValue(file)).toBe(true);
    const { sha256: _s, created_at: _c, content_type: _t, ...bare } = file;
    expect(isFileValue(bare)).toBe(true);
    expect(isFileValue({ ...file, size: 0 })).toBe(true);
  });
  it('refuses what only looks like one', () => {
    expect(isFileValue(null)).toBe(false);
    expect(isFileValue('fil_3kQ9aBcDeFgHiJkLmNoPqR')).toBe(false);
    expect(isFileValue([file])).toBe(false);
    expect(isFileValue({ ...file, type: 'File' })).toBe(false);
    expect(isFileValue({ type: 'file', id: file.id })).toBe(false);
    expect(isFileValue({ ...file, id: 'abc' })).toBe(false);
    expect(isFileValue({ ...file, id: 'fil_../../weft.db' })).toBe(false);
    expect(isFileValue({ ...file, size: '5242880' })).toBe(false);
    expect(isFileValue({ ...file, size: -1 })).toBe(false);
    expect(isFileValue({ ...file, size: 1.5 })).toBe(false);
    expect(isFileValue({ ...file, name: 7 })).toBe(false);
    expect(isFileValue({ ...file, content_type: null })).toBe(false);
  });
  it('narrows the type', () => {
    const v: unknown = file;
    if (isFileValue(v)) expect(v.name.length + v.size).toBeGreaterThan(0);
    else throw new Error('not a file value');
  });
});

describe('fmtBytes', () => {
  it('writes sizes as people read them', () => {
    expect(fmtBytes(0)).toBe('0 B');
    expect(fmtBytes(21)).toBe('21 B');
    expect(fmtBytes(999)).toBe('999 B');
    expect(fmtBytes(1000)).toBe('1 kB');
    expect(fmtBytes(1500)).toBe('1.5 kB');
    expect(fmtBytes(512_000)).toBe('512 kB');
    expect(fmtBytes(4_800_000)).toBe('4.8 MB');
    expect(fmtBytes(5_242_880)).toBe('5.2 MB');
    expect(fmtBytes(99_999)).toBe('100 kB');
    expect(fmtBytes(999_999)).toBe('1 MB');
    expect(fmtBytes(2_000_000_000)).toBe('2 GB');
    expect(fmtBytes(-1)).toBe('?');
  });
});

describe('content types', () => {
  it('previews raster images only', () => {
    expect(isPreviewableImage('image/png')).toBe(true);
    expect(isPreviewableImage('IMAGE/JPEG; foo=bar')).toBe(true);
    expect(isPreviewableImage('image/svg+xml')).toBe(false);
    expect(isPreviewableImage('application/pdf')).toBe(false);
    expect(isPreviewableImage(undefined)).toBe(false);
  });
  it('knows text', () => {
    expect(baseType('text/plain; charset=utf-8')).toBe('text/plain');
    expect(isTextType('text/plain')).toBe(true);
    expect(isTextType('text/csv; charset=utf-8')).toBe(true);
    expect(isTextType('application/json')).toBe(true);
    expect(isTextType('application/vnd.api+json')).toBe(true);
    expect(isTextType('application/octet-stream')).toBe(false);
    expect(isTextType('image/png')).toBe(false);
  });
});
