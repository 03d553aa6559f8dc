import { describe, expect, it } from 'vitest';
import type { StreamRecord } from '../contract';
import { pieceOf, sniffTokens, statsOf, TokenStream } from './llm';

describe('pieceOf', () => {
  it('reads each style of token message', () => {
    expect(pieceOf('{"token": " SSE"}')).toEqual({ kind: 'text', text: ' SSE', style: 'generic' });
    expect(pieceOf('[DONE]')).toEqual({ kind: 'done', style: 'openai' });
    expect(
      pieceOf('{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"}}]}'),
    ).toEqual({ kind: 'text', text: 'Hi', style: 'openai' });
    expect(pieceOf('{"choices":[],"usage":{"completion_tokens":12}}')).toEqual({
      kind: 'usage',
      style: 'openai',
      outputTokens: 12,
    });
    expect(pieceOf('{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}')).toEqual({
      kind: 'text',
      text: 'Hello',
      style: 'anthropic',
    });
    expect(pieceOf('{"type":"message_delta","delta":{},"usage":{"output_tokens":7}}')?.kind).toBe('usage');
    expect(pieceOf('{"type":"message_stop"}')?.kind).toBe('done');
    expect(pieceOf('{"type":"response.output_text.delta","delta":"x"}')).toEqual({
      kind: 'text',
      text: 'x',
      style: 'openai',
    });
    expect(pieceOf('{"type":"response.audio_transcript.delta","delta":"y"}')?.kind).toBe('text');
    expect(pieceOf('{"candidates":[{"content":{"parts":[{"text":"G"}]}}]}')).toEqual({
      kind: 'text',
      text: 'G',
      style: 'gemini',
    });
    expect(pieceOf('{"model":"l","response":"O","done":false}')).toEqual({ kind: 'text', text: 'O', style: 'ollama' });
    expect(pieceOf('{"n": 1, "sent_at": "x"}')).toBeNull();
    expect(pieceOf('plain text')).toBeNull();
    expect(pieceOf('{"token": ')).toBeNull();
  });
});

const rec = (seq: number, dir: 'in' | 'out' | 'meta', kind: StreamRecord['kind'], data?: string): StreamRecord =>
  ({ t: '', conn: 'c1', proto: 'sse', seq, dir, kind, data }) as StreamRecord;

describe('TokenStream', () => {
  it('assembles an SSE answer and times it from the response', () => {
    const s = new TokenStream();
    s.feed(rec(1, 'meta', 'open'), 1000);
    s.feed(rec(2, 'in', 'event', '{"token":"How"}'), 1250);
    s.feed(rec(3, 'in', 'event', '{"token":" are"}'), 1300);
    s.feed(rec(4, 'in', 'event', '{"token":" you"}'), 1350);
    s.feed(rec(5, 'in', 'event', '[DONE]'), 1351);
    s.feed(rec(6, 'meta', 'end'), 1352);
    const t = s.current!;
    expect(t).toMatchObject({ text: 'How are you', chunks: 3, done: true, fromRequest: false, style: 'generic' });
    // 250 ms to the first token; two more over the next 100 ms.
    expect(statsOf(t)).toEqual({ ttft: 250, tokens: 3, perSecond: 20 });
    expect(s.likely).toBe(true);
    expect(s.lastSeq).toBe(6);
  });

  it('starts a WebSocket answer at the prompt, and prefers the reported token count', () => {
    const s = new TokenStream();
    s.feed({ ...rec(1, 'meta', 'open'), proto: 'ws' }, 0);
    s.feed({ ...rec(2, 'out', 'text', '{"prompt":"hi"}'), proto: 'ws' }, 500);
    const delta = (text: string) =>
      JSON.stringify({ type: 'content_block_delta', delta: { type: 'text_delta', text } });
    s.feed(rec(3, 'in', 'text', delta('A')), 700);
    s.feed(rec(4, 'in', 'text', delta('B')), 800);
    s.feed(rec(5, 'in', 'text', '{"type":"message_delta","delta":{},"usage":{"output_tokens":5}}'), 801);
    s.feed(rec(6, 'in', 'text', '{"type":"message_stop"}'), 802);
    const t = s.current!;
    expect(t).toMatchObject({ text: 'AB', fromRequest: true, done: true, reportedTokens: 5 });
    expect(statsOf(t)).toEqual({ ttft: 200, tokens: 5, perSecond: 40 });
    // The next prompt starts the next answer.
    s.feed(rec(7, 'out', 'text', 'again'), 900);
    expect(s.turns.length).toBe(2);
    expect(s.current).toMatchObject({ text: '', start: 900, fromRequest: true });
    expect(statsOf(s.current!)).toEqual({ ttft: undefined, tokens: 0, perSecond: undefined });
  });

  it('is not likely on ordinary JSON feeds', () => {
    const s = new TokenStream();
    for (let i = 1; i <= 10; i++) s.feed(rec(i, 'in', 'event', `{"n":${i},"price":1.5}`), i);
    expect(s.likely).toBe(false);
  });
});

describe('sniffTokens', () => {
  it('tells a token stream from other feeds by the first previews', () => {
    expect(sniffTokens(['{"token":"a"}', '{"token":"b"}'])).toBeNull();
    expect(sniffTokens(['{"token":"a"}', '{"token":"b"}', '[DONE]'])).toBe(true);
    expect(
      sniffTokens([
        '{"id":"x","object":"chat.completion.chunk","created":1,"choices":[{"ind',
        '{"choices":',
        '{"choices":',
      ]),
    ).toBe(true);
    expect(sniffTokens(Array.from({ length: 12 }, (_, i) => `{"n":${i},"sent_at":"t"}`))).toBe(false);
    expect(sniffTokens(['{"type":"next","id":"1","payload":{}}', '{"type":"next"}', '{"type":"complete"}'])).toBeNull();
  });
});
