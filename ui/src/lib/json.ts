// JSON for the sender (validate before sending, say where it breaks) and the detail view
// (is this payload JSON, pretty-print it).

export type JsonCheck =
  { ok: true; value: unknown } | { ok: false; message: string; line: number; column: number; empty: boolean };

/** Line and column (1-based) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: end - start + 1 };
}

/** Parses `text` as JSON; on failure, a message with the line and column where it broke.
 * Engines word (and place) JSON errors differently, and V8 gives no position at all for
 * most of them, so the failure is located by our own scanner. */
export function checkJson(text: string): JsonCheck {
  if (text.trim() === '')
    return { ok: false, message: 'empty: a JSON message needs a value', line: 1, column: 1, empty: true };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    const found = findJsonError(text) ?? { offset: text.length, cause: (e as Error).message };
    const pos = lineColumn(text, found.offset);
    return { ok: false, message: `line ${pos.line}, column ${pos.column}: ${found.cause}`, ...pos, empty: false };
  }
}

/** The first place `text` stops being JSON (RFC 8259), or `null` when it is JSON. */
export function findJsonError(text: string): { offset: number; cause: string } | null {
  let i = 0;
  class Stop {
    constructor(
      readonly offset: number,
      readonly cause: string,
    ) {}
  }
  const fail = (cause: string, at = i): never => {
    throw new Stop(at, cause);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const describe = () => (i >= text.length ? 'the text ends' : `unexpected ${JSON.stringify(text[i])}`);
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`${describe()}; expected a value`);
  };
  const string = () => {
    const start = i;
    i++;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c === 0x5c) {
        const n = text[i + 1];
        if (n === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('a \\u escape needs four hex digits');
          i += 6;
        } else if (n !== undefined && '"\\/bfnrt'.includes(n)) i += 2;
        else fail(`invalid escape \\${n ?? ''}`);
      } else if (c < 0x20) fail('a control character (such as a line break) inside a string; escape it');
      else i++;
    }
    fail('the string never ends (missing ")', start);
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || !m[0] || m[0] === '-') fail(`${describe()}; expected a value`);
    i += m![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"')
          fail(text[i] === '}' ? 'a trailing comma before }' : `${describe()}; expected a "quoted" key`);
        string();
        ws();
        if (text[i] !== ':') fail(`${describe()}; expected : after the key`);
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`${describe()}; expected , or }`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === ']') fail('a trailing comma before ]');
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`${describe()}; expected , or ]`);
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === "'") fail("strings take double quotes, not '");
    number();
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail(`${describe()} after the value; only one value is allowed`);
    return null;
  } catch (e) {
    if (e instanceof Stop) return { offset: e.offset, cause: e.cause };
    throw e;
  }
}

/** The value parsed, when `text` looks like a JSON object or array and parses. Cheap
 * rejection first: most non-JSON payloads fail on the first character. */
export function maybeJson(text: string): { value: unknown } | null {
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') return null;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return null;
  }
}

export function prettyJson(text: string): string | null {
  const j = checkJson(text);
  return j.ok ? JSON.stringify(j.value, null, 2) : null;
}
