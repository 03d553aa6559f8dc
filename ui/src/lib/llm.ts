// LLM token streams: recognising a streamed completion in SSE events or WebSocket text
// (OpenAI chat completions and Responses, OpenAI Realtime, Anthropic Messages, Gemini,
// Ollama, and plain `{"token": …}` / `{"delta": …}` as the demo sends), assembling its text
// as it grows, and timing it: time to first token and tokens per second. Pure: the view
// feeds it whole records (a preview may be cut short) and draws what it reports.

import type { StreamRecord } from '../contract';

/** What one message of a token stream says. */
export type Piece =
  | { kind: 'text'; text: string; style: Style }
  /** The answer is complete (`[DONE]`, `message_stop`, `response.done`, …). */
  | { kind: 'done'; style: Style; outputTokens?: number }
  /** Token usage reported on its own (OpenAI's last chunk, Anthropic's `message_delta`). */
  | { kind: 'usage'; style: Style; outputTokens: number }
  /** A message of the stream that carries no text (a role, a start, a ping). */
  | { kind: 'other'; style: Style };

export type Style = 'openai' | 'anthropic' | 'gemini' | 'ollama' | 'generic';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Reads one message's data as a piece of a token stream, or `null` when it is not one. */
export function pieceOf(data: string): Piece | null {
  const trimmed = data.trim();
  if (trimmed === '[DONE]') return { kind: 'done', style: 'openai' };
  if (!trimmed.startsWith('{')) return null;
  let o: unknown;
  try {
    o = JSON.parse(trimmed);
  } catch {
    return null;
  }
  if (!isObj(o)) return null;
  const type = str(o.type);

  // Anthropic Messages (SSE), by event type in the payload.
  if (type === 'content_block_delta' && isObj(o.delta)) {
    const text = str(o.delta.text);
    return text !== undefined ? { kind: 'text', text, style: 'anthropic' } : { kind: 'other', style: 'anthropic' };
  }
  if (type === 'message_delta' && isObj(o.usage) && num(o.usage.output_tokens) !== undefined)
    return { kind: 'usage', style: 'anthropic', outputTokens: num(o.usage.output_tokens) as number };
  if (type === 'message_stop') return { kind: 'done', style: 'anthropic' };
  if (type === 'message_start' || type === 'content_block_start' || type === 'content_block_stop' || type === 'ping')
    return { kind: 'other', style: 'anthropic' };

  // OpenAI Responses API and Realtime (WebSocket): typed events with a string delta.
  if (type && /(^|\.)(output_text|text|audio_transcript)\.delta$/.test(type) && typeof o.delta === 'string')
    return { kind: 'text', text: o.delta, style: 'openai' };
  if (type === 'response.completed' || type === 'response.done') {
    const usage = isObj(o.response) && isObj(o.response.usage) ? o.response.usage : undefined;
    const out = usage ? num(usage.output_tokens) : undefined;
    return out !== undefined ? { kind: 'done', style: 'openai', outputTokens: out } : { kind: 'done', style: 'openai' };
  }

  // OpenAI chat completions (and legacy completions).
  if (Array.isArray(o.choices)) {
    const c = o.choices[0];
    const usage = isObj(o.usage) ? num(o.usage.completion_tokens) : undefined;
    if (isObj(c)) {
      const text = isObj(c.delta) ? str(c.delta.content) : str(c.text);
      if (text) return { kind: 'text', text, style: 'openai' };
    }
    if (usage !== undefined) return { kind: 'usage', style: 'openai', outputTokens: usage };
    return { kind: 'other', style: 'openai' };
  }

  // Gemini streamGenerateContent (alt=sse).
  if (Array.isArray(o.candidates)) {
    const parts = (o.candidates[0] as Json | undefined)?.content;
    const list = isObj(parts) && Array.isArray(parts.parts) ? parts.parts : [];
    const text = list.map((p) => (isObj(p) ? (str(p.text) ?? '') : '')).join('');
    return text ? { kind: 'text', text, style: 'gemini' } : { kind: 'other', style: 'gemini' };
  }

  // Ollama: /api/generate streams `response`, /api/chat streams `message.content`.
  if (typeof o.done === 'boolean' && (typeof o.response === 'string' || isObj(o.message))) {
    const text = str(o.response) ?? (isObj(o.message) ? str(o.message.content) : undefined) ?? '';
    if (o.done) return { kind: 'done', style: 'ollama', outputTokens: num(o.eval_count) };
    return { kind: 'text', text, style: 'ollama' };
  }

  // Plain token messages: `{"token": "…"}` (the demo), `{"delta": "…"}`.
  const plain = str(o.token) ?? str(o.delta);
  if (plain !== undefined) return { kind: 'text', text: plain, style: 'generic' };
  return null;
}

/** One answer: from its request (an outbound message, or the response's opening) to its
 * end. */
export interface Turn {
  /** When the request went, or the response opened (ms, with µs in the fraction). */
  start: number;
  /** Whether `start` is the request itself (an outbound message) or only the response's
   * opening (SSE: the request was sent a little earlier). */
  fromRequest: boolean;
  text: string;
  /** Messages that carried text: each a streamed token, or a few. */
  chunks: number;
  firstAt?: number;
  lastAt?: number;
  /** Tokens the server reported using, when it did. */
  reportedTokens?: number;
  done: boolean;
  style?: Style;
}

export interface TurnStats {
  /** Time to first token, ms. */
  ttft?: number;
  /** Tokens counted: the server's own count when it gave one, else text messages. */
  tokens: number;
  /** Tokens per second from the first token to the last; undefined before two. */
  perSecond?: number;
}

export function statsOf(t: Turn): TurnStats {
  const tokens = t.reportedTokens ?? t.chunks;
  const ttft = t.firstAt !== undefined ? Math.max(0, t.firstAt - t.start) : undefined;
  let perSecond: number | undefined;
  if (t.firstAt !== undefined && t.lastAt !== undefined && t.lastAt > t.firstAt && tokens > 1)
    // The first token ends the wait; the rate counts those after it over the time they took.
    perSecond = ((tokens - 1) * 1000) / (t.lastAt - t.firstAt);
  return { ttft, tokens, perSecond };
}

/** Follows a connection's records and keeps its answers. Records must come in seq order;
 * a record's `t` is its RFC 3339 time parsed to ms. */
export class TokenStream {
  readonly turns: Turn[] = [];
  /** Messages that read as pieces of a token stream, and those that did not. */
  recognised = 0;
  unrecognised = 0;
  /** The last seq fed (the reader's cursor). */
  lastSeq = 0;

  feed(r: StreamRecord, t: number) {
    this.lastSeq = r.seq;
    const data = r.kind === 'text' || r.kind === 'event' ? r.data : undefined;
    if (r.kind === 'open' || (r.dir === 'out' && (r.kind === 'text' || r.kind === 'binary'))) {
      // A new request (WebSocket: the prompt we sent; SSE: each response) starts a turn,
      // unless the current one has not begun answering (a second line of a prompt).
      const cur = this.turns.at(-1);
      const fromRequest = r.dir === 'out';
      if (cur && cur.firstAt === undefined && !cur.done) {
        if (fromRequest) cur.fromRequest = true;
        if (fromRequest || !cur.fromRequest) cur.start = t;
        return;
      }
      this.turns.push({ start: t, fromRequest, text: '', chunks: 0, done: false });
      return;
    }
    if (r.dir !== 'in' || data === undefined) return;
    const p = pieceOf(data);
    if (!p) {
      this.unrecognised++;
      return;
    }
    this.recognised++;
    let cur = this.turns.at(-1);
    if (!cur || cur.done) {
      // Tokens without a request we saw (a stream joined late): they start an answer.
      cur = { start: t, fromRequest: false, text: '', chunks: 0, done: false };
      this.turns.push(cur);
    }
    cur.style ??= p.style;
    if (p.kind === 'text') {
      if (p.text) {
        cur.text += p.text;
        cur.chunks++;
        cur.firstAt ??= t;
        cur.lastAt = t;
      }
    } else if (p.kind === 'usage') cur.reportedTokens = p.outputTokens;
    else if (p.kind === 'done') {
      if (p.outputTokens !== undefined) cur.reportedTokens = p.outputTokens;
      cur.done = true;
    }
  }

  /** Whether this looks like a token stream: most data messages so far are pieces. */
  get likely(): boolean {
    return this.recognised >= 3 && this.recognised >= 4 * this.unrecognised;
  }

  /** The newest answer, also while it waits for its first token. */
  get current(): Turn | undefined {
    return this.turns.at(-1);
  }
}

/** Row previews (cut, flattened) that look like token messages: enough to decide whether
 * to read a connection's whole records, which a firehose of other JSON never triggers. */
const TOKENISH =
  /^\s*(\[DONE\]\s*$|\{.*"(token|delta|choices|candidates)"\s*:|\{.*"type"\s*:\s*"(content_block_delta|message_start|message_delta|response\.[\w.]*delta)")/;

/** Whether the first inbound data previews of a connection look like a token stream:
 * at least three, and three in four of them. `null` while too few have arrived. */
export function sniffTokens(previews: readonly string[]): boolean | null {
  const hits = previews.filter((p) => TOKENISH.test(p)).length;
  if (hits >= 3 && hits * 4 >= previews.length * 3) return true;
  return previews.length >= 12 ? false : null;
}
