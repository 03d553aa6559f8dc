import { describe, expect, it } from 'vitest';
import { checkJson, findJsonError, lineColumn, maybeJson, prettyJson } from './json';

describe('checkJson', () => {
  it('accepts any JSON value', () => {
    expect(checkJson('{"a":[1,2,{"b":null}]}')).toEqual({ ok: true, value: { a: [1, 2, { b: null }] } });
    expect(checkJson(' 42 ')).toMatchObject({ ok: true, value: 42 });
  });

  it('says where it breaks, by line and column', () => {
    const r = checkJson('{\n  "a": 1,\n  "b": }\n');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.line).toBe(3);
      expect(r.column).toBe(8);
      expect(r.message).toMatch(/^line 3, column 8: /);
      expect(r.message).not.toMatch(/position/);
    }
  });

  it('flags an unterminated document at its end', () => {
    const r = checkJson('{"a": [1, 2');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.line).toBe(1);
  });

  it('treats empty input as empty, not as an error to shout about', () => {
    expect(checkJson('  ')).toMatchObject({ ok: false, empty: true });
  });
});

describe('findJsonError', () => {
  it.each([
    ['{"a":1,}', 7, /trailing comma/],
    ['[1,2,]', 5, /trailing comma/],
    ["{'a':1}", 1, /quoted/],
    ['{"a" 1}', 5, /expected :/],
    ['{"a":1 "b":2}', 7, /expected , or }/],
    ['"abc', 0, /never ends/],
    ['"a\\qb"', 2, /invalid escape/],
    ['tru', 0, /expected a value/],
    ['01', 1, /only one value/],
    ['{"a":1} x', 8, /only one value/],
    ['"line\nbreak"'.replace('\\n', '\n'), 5, /control character/],
  ])('locates the error in %s', (text, offset, cause) => {
    const e = findJsonError(text);
    expect(e?.offset).toBe(offset);
    expect(e?.cause).toMatch(cause);
  });

  it('agrees with JSON.parse on valid documents', () => {
    for (const t of ['0', '-1.5e+3', '"\\u00e9"', '[]', '{}', '{"a":[true,false,null,{"b":"c"}]}', ' [ 1 , 2 ] ']) {
      expect(() => JSON.parse(t)).not.toThrow();
      expect(findJsonError(t)).toBeNull();
    }
  });
});

describe('helpers', () => {
  it('maps offsets to lines and columns', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
  it('recognises JSON payloads cheaply', () => {
    expect(maybeJson('{"n":1}')).toEqual({ value: { n: 1 } });
    expect(maybeJson('hello')).toBeNull();
    expect(maybeJson('{oops')).toBeNull();
    expect(maybeJson('42')).toBeNull();
  });
  it('pretty-prints with two spaces', () => {
    expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyJson('{')).toBeNull();
  });
});
