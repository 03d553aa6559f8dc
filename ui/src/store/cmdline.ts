// Command lines pasted into the URL box: `curl`, `websocat` and `wscat`, read as a POSIX
// shell would split them (quotes, `$'…'`, backslashes, line continuations), then turned
// into a pane's settings. Owns only the reading: the pane applies the result. Every flag
// is accounted for: one that maps to a setting sets it, one that only shapes a tool's
// own output is listed as ignored, and anything else is named as unsupported, so nothing
// a user pasted is silently dropped.

import { defaultConfig, type HeaderRow, type PaneConfig } from './config';

export type Tool = 'curl' | 'websocat' | 'wscat';

export interface Imported {
  tool: Tool;
  /** The settings the command sets; the pane keeps its own for the rest. */
  config: Partial<PaneConfig>;
  /** Flags that only shape the tool's own output or behaviour here: `-s (output only)`. */
  ignored: string[];
  /** Flags and arguments the pane cannot express, as typed: `-m 5`, `--cert me.pem`. */
  unsupported: string[];
}

export type ImportResult = { ok: true; value: Imported } | { ok: false; error: string };

/** Whether text looks like one of the command lines this module reads (after an
 * optional `$ ` prompt), so the URL box can tell a paste of a command from a URL. */
export function looksLikeCommand(text: string): boolean {
  return /^\s*(\$\s*)?(curl|websocat|wscat)(\.exe)?\s/.test(text);
}

/** Splits a command line into words as a POSIX shell does: single quotes keep
 * everything, double quotes keep all but `\"`, `\\`, `\$`, `` \` `` and `\`-newline,
 * `$'…'` reads C escapes (what browsers' "Copy as cURL" writes), a backslash outside
 * quotes escapes the next character, and backslash-newline joins lines. Variables and
 * substitutions are not expanded: they are kept as typed. */
export function shellWords(text: string): { ok: true; words: string[] } | { ok: false; error: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '\\') {
      if (text[i + 1] === '\n') {
        i += 2;
        continue;
      }
      if (text[i + 1] === '\r' && text[i + 2] === '\n') {
        i += 3;
        continue;
      }
      if (i + 1 < n) word += text[i + 1];
      inWord = true;
      i += 2;
      continue;
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return { ok: false, error: 'a single quote is not closed' };
      word += text.slice(i + 1, end);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (c === '$' && text[i + 1] === "'") {
      const r = ansiC(text, i + 2);
      if (!r) return { ok: false, error: "a $'…' quote is not closed" };
      word += r.value;
      inWord = true;
      i = r.next;
      continue;
    }
    if (c === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const d = text[i];
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < n && '"\\$`\n'.includes(text[i + 1])) {
          if (text[i + 1] !== '\n') word += text[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      if (!closed) return { ok: false, error: 'a double quote is not closed' };
      inWord = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    word += c;
    inWord = true;
    i++;
  }
  if (inWord) words.push(word);
  return { ok: true, words };
}

/** Reads a `$'…'` body from `i` (just after the opening quote). */
function ansiC(text: string, i: number): { value: string; next: number } | null {
  let out = '';
  const simple: Record<string, string> = {
    n: '\n',
    t: '\t',
    r: '\r',
    a: '\x07',
    b: '\b',
    e: '\x1b',
    E: '\x1b',
    f: '\f',
    v: '\v',
    '\\': '\\',
    "'": "'",
    '"': '"',
    '?': '?',
  };
  while (i < text.length) {
    const c = text[i];
    if (c === "'") return { value: out, next: i + 1 };
    if (c !== '\\') {
      out += c;
      i++;
      continue;
    }
    const e = text[i + 1];
    if (e === undefined) return null;
    if (e in simple) {
      out += simple[e];
      i += 2;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const max = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const m = new RegExp(`^[0-9a-fA-F]{1,${max}}`).exec(text.slice(i + 2));
      if (!m) {
        out += '\\' + e;
        i += 2;
        continue;
      }
      out += String.fromCodePoint(parseInt(m[0], 16));
      i += 2 + m[0].length;
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(text.slice(i + 1)) as RegExpExecArray;
      out += String.fromCharCode(parseInt(m[0], 8));
      i += 1 + m[0].length;
    } else {
      out += '\\' + e;
      i += 2;
    }
  }
  return null;
}

/** How a tool's flag is read: `value` flags take the next word (or `=value`, or the rest
 * of a short cluster); `flag` ones take none. */
interface FlagSpec {
  names: string[];
  value: boolean;
  /** Applies the flag; returns a note for `ignored` when it only shapes output. */
  apply?: (v: string, s: State) => void;
  /** Output-only or implied here: listed as ignored with this reason. */
  ignore?: string;
}

interface State {
  c: Partial<PaneConfig>;
  headers: HeaderRow[];
  unsupported: string[];
  url?: string;
  dataParts: string[];
}

const header = (line: string, s: State) => {
  const at = line.indexOf(':');
  if (at <= 0) {
    // curl: `-H 'Name;'` sends an empty header, `-H 'Name:'` removes one.
    s.unsupported.push(`-H ${JSON.stringify(line)} (not a "Name: value" header)`);
    return;
  }
  const name = line.slice(0, at).trim();
  const value = line.slice(at + 1).trim();
  // A bearer token goes to the auth setting, which is a secret the workspace never
  // saves; left as a header it would be written to storage with the pane.
  const bearer = /^bearer\s+(.+)$/i.exec(value);
  if (name.toLowerCase() === 'authorization' && bearer) {
    s.c.auth = 'bearer';
    s.c.bearer = bearer[1].trim();
    return;
  }
  s.headers.push({ name, value, on: true });
};

const basic = (v: string, s: State) => {
  const at = v.indexOf(':');
  s.c.auth = 'basic';
  s.c.basicUser = at < 0 ? v : v.slice(0, at);
  s.c.basicPass = at < 0 ? '' : v.slice(at + 1);
};

const CURL: FlagSpec[] = [
  { names: ['-H', '--header'], value: true, apply: header },
  {
    names: ['-d', '--data', '--data-ascii', '--data-binary', '--data-raw'],
    value: true,
    apply: (v, s) => s.dataParts.push(v),
  },
  {
    names: ['--json'],
    value: true,
    apply: (v, s) => {
      s.dataParts.push(v);
      s.headers.push({ name: 'Content-Type', value: 'application/json', on: true });
      s.headers.push({ name: 'Accept', value: 'application/json', on: true });
    },
  },
  {
    names: ['-X', '--request'],
    value: true,
    apply: (v, s) => {
      const m = v.toUpperCase();
      if (m === 'GET' || m === 'POST') s.c.method = m;
      else s.unsupported.push(`-X ${v} (an event stream is GET or POST)`);
    },
  },
  { names: ['-u', '--user'], value: true, apply: basic },
  { names: ['--oauth2-bearer'], value: true, apply: (v, s) => ((s.c.auth = 'bearer'), (s.c.bearer = v)) },
  { names: ['-A', '--user-agent'], value: true, apply: (v, s) => header(`User-Agent: ${v}`, s) },
  { names: ['-e', '--referer'], value: true, apply: (v, s) => header(`Referer: ${v}`, s) },
  {
    names: ['-b', '--cookie'],
    value: true,
    apply: (v, s) => (v.includes('=') ? header(`Cookie: ${v}`, s) : s.unsupported.push(`-b ${v} (a cookie file)`)),
  },
  { names: ['-k', '--insecure'], value: false, apply: (_, s) => (s.c.verifyTls = false) },
  { names: ['--cacert'], value: true, apply: (v, s) => (s.c.caFile = v) },
  { names: ['--connect-timeout'], value: true, apply: (v, s) => (s.c.connectTimeout = v) },
  { names: ['--url'], value: true, apply: (v, s) => (s.url = v) },
  { names: ['-N', '--no-buffer'], value: false, ignore: 'Streamscope never buffers a stream' },
  {
    names: ['-s', '--silent', '-S', '--show-error', '-v', '--verbose', '-i', '--include', '--no-progress-meter'],
    value: false,
    ignore: 'output only',
  },
  { names: ['-L', '--location'], value: false, ignore: 'redirects are always followed' },
  { names: ['--compressed'], value: false, ignore: 'gzip is always decoded' },
  { names: ['-o', '--output'], value: true, ignore: 'output only' },
];

const WEBSOCAT: FlagSpec[] = [
  { names: ['-H', '--header'], value: true, apply: header },
  { names: ['--protocol'], value: true, apply: (v, s) => addSubprotocol(v, s) },
  { names: ['-k', '--insecure'], value: false, apply: (_, s) => (s.c.verifyTls = false) },
  { names: ['--ping-interval'], value: true, apply: (v, s) => (s.c.pingInterval = v) },
  { names: ['--ping-timeout'], value: true, apply: (v, s) => (s.c.pongTimeout = v) },
  { names: ['--basic-auth'], value: true, apply: basic },
  { names: ['--origin'], value: true, apply: (v, s) => header(`Origin: ${v}`, s) },
  { names: ['--ua'], value: true, apply: (v, s) => header(`User-Agent: ${v}`, s) },
  { names: ['--max-messages-rev'], value: true, ignore: 'the pane counts nothing' },
  {
    names: [
      '-t',
      '--text',
      '-b',
      '--binary',
      '-v',
      '-q',
      '-n',
      '--no-close',
      '-1',
      '--one-message',
      '--print-ping-rtts',
    ],
    value: false,
    ignore: 'output only; the pane shows every frame',
  },
];

const WSCAT: FlagSpec[] = [
  { names: ['-c', '--connect'], value: true, apply: (v, s) => (s.url = v) },
  { names: ['-H', '--header'], value: true, apply: header },
  { names: ['-s', '--subprotocol'], value: true, apply: (v, s) => addSubprotocol(v, s) },
  { names: ['-n', '--no-check'], value: false, apply: (_, s) => (s.c.verifyTls = false) },
  { names: ['--auth'], value: true, apply: basic },
  { names: ['-o', '--origin'], value: true, apply: (v, s) => header(`Origin: ${v}`, s) },
  { names: ['--ca'], value: true, apply: (v, s) => (s.c.caFile = v) },
  {
    names: ['-P', '--show-ping-pong', '--slash', '--no-color'],
    value: false,
    ignore: 'output only; the pane shows pings and pongs',
  },
  { names: ['-L', '--location'], value: false, ignore: 'redirects are followed' },
];

function addSubprotocol(v: string, s: State) {
  s.c.subprotocols = s.c.subprotocols ? `${s.c.subprotocols}, ${v}` : v;
}

/** Whether an unknown flag probably takes the word after it as its value: without
 * knowing the flag, a following word that is neither a flag nor a URL is kept with it,
 * so `-m 5` is named as one thing rather than a stray `5`. */
function takesNext(next: string | undefined): boolean {
  return next !== undefined && !next.startsWith('-') && !/^\w+:\/\//.test(next);
}

const TABLES: Record<Tool, FlagSpec[]> = { curl: CURL, websocat: WEBSOCAT, wscat: WSCAT };

/** Reads a pasted `curl`, `websocat` or `wscat` command line into pane settings. */
export function importCommand(text: string): ImportResult {
  const split = shellWords(text.trim().replace(/^\$\s*/, ''));
  if (!split.ok) return { ok: false, error: split.error };
  const words = split.words;
  const tool = words[0]?.replace(/\.exe$/, '') as Tool;
  if (!(tool in TABLES)) return { ok: false, error: 'not a curl, websocat or wscat command' };
  const table = TABLES[tool];
  const s: State = { c: {}, headers: [], unsupported: [], dataParts: [] };
  const ignored: string[] = [];
  const positional: string[] = [];
  const find = (name: string) => table.find((f) => f.names.includes(name));
  const use = (f: FlagSpec, name: string, v: string) => {
    if (f.ignore) ignored.push(`${name}${f.value ? ` ${v}` : ''} (${f.ignore})`);
    else f.apply?.(v, s);
  };

  for (let i = 1; i < words.length; i++) {
    const w = words[i];
    if (w === '--') {
      positional.push(...words.slice(i + 1));
      break;
    }
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = eq > 0 ? w.slice(0, eq) : w;
      const f = find(name);
      if (!f) {
        const takes = eq < 0 && takesNext(words[i + 1]);
        s.unsupported.push(takes ? `${w} ${words[++i]}` : w);
        continue;
      }
      if (f.value) {
        const v = eq > 0 ? w.slice(eq + 1) : words[++i];
        if (v === undefined) return { ok: false, error: `${name} needs a value` };
        use(f, name, v);
      } else use(f, name, '');
      continue;
    }
    if (w.startsWith('-') && w.length > 1) {
      // A cluster of short flags (`-sN`), the last of which may take a value, which may
      // be attached (`-HAccept: x`).
      for (let k = 1; k < w.length; k++) {
        const name = `-${w[k]}`;
        const f = find(name);
        if (!f) {
          if (w.length === 2) {
            const takes = takesNext(words[i + 1]);
            s.unsupported.push(takes ? `${w} ${words[++i]}` : w);
          } else s.unsupported.push(`${name} (in ${w})`);
          continue;
        }
        if (f.value) {
          const attached = w.slice(k + 1);
          const v = attached || words[++i];
          if (v === undefined) return { ok: false, error: `${name} needs a value` };
          use(f, name, v);
          break;
        }
        use(f, name, '');
      }
      continue;
    }
    positional.push(w);
  }

  for (const p of positional) {
    if (!s.url && /^(wss?|https?):/i.test(p)) s.url = p;
    else if (!s.url && tool === 'curl' && /^[\w.-]+(:\d+)?(\/|$)/.test(p)) s.url = `http://${p}`;
    else s.unsupported.push(p);
  }
  if (!s.url) return { ok: false, error: `no URL in this ${tool} command` };
  const c = s.c;
  c.url = s.url;
  if (s.headers.length) c.headers = s.headers;
  if (tool === 'curl') {
    if (s.dataParts.some((d) => d.startsWith('@'))) {
      s.unsupported.push(...s.dataParts.filter((d) => d.startsWith('@')).map((d) => `--data ${d} (a file)`));
    }
    const body = s.dataParts.filter((d) => !d.startsWith('@'));
    if (body.length) {
      // curl joins several --data with '&'.
      c.body = body.join('&');
      if (c.method === 'GET') s.unsupported.push('-X GET with --data (a request with a body is sent as POST here)');
      c.method = 'POST';
    } else if (!c.method) c.method = 'GET';
  }
  return { ok: true, value: { tool, config: c, ignored, unsupported: s.unsupported } };
}

/** The settings a pane takes from an import: what the command set, and the defaults for
 * what it did not (a pasted command describes the whole request, so headers or auth
 * left from before would be a surprise). Name and view toggles are kept. */
export function applyImport(current: PaneConfig, imported: Imported): PaneConfig {
  const fresh = defaultConfig(imported.config.url ?? current.url);
  return { ...fresh, name: current.name, ...imported.config };
}
