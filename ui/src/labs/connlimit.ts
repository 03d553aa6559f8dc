// The connection-limit lab, which runs in the page: the limit it shows is the browser's
// (six HTTP/1.1 connections per host), so neither the engine nor `sscope lab` can show
// it. This module owns the experiment (which connections, in which order, what is timed)
// and the conclusion drawn from what was measured. It reaches the browser only through
// `Env`, so tests drive it with a simulated browser; the live view of the slots and the
// run's state are labs/session.svelte.ts's, the drawing the views'.
//
// The page is on host H (`127.0.0.1` or `localhost`) and port P; O is the other name of
// the same server. Streams that should meet the limit go to O, so the app's own requests
// (on H) are not starved while the lab holds O's six connections.
//   A: seven EventSources to O; after HOLD_MS one of the first six is closed; the seventh
//      should open only then.
//   B: seven WebSockets to O: all open (they are not HTTP/1.1 requests held in the pool).
//   C: seven EventSources split, four to O and three to H: all open (the limit is per host).

import type { LabFigure, LabResult } from '../transport/types';

export const LAB = 'connection-limit';
/** How many connections each phase opens: one more than the per-host limit. */
export const COUNT = 7;
/** The first six of phase A stay open this long before one is closed, so a seventh that
 * is held back is seen waiting rather than racing the close. */
export const HOLD_MS = 1500;
/** How long a phase waits for connections to open before it records them as not open.
 * A bound on the experiment, not an expectation of speed. */
export const OPEN_TIMEOUT_MS = 5000;
/** Between phases: the browser releases a closed stream's socket asynchronously, so the
 * next phase could otherwise meet the previous phase's connections still in the pool. */
export const SETTLE_MS = 300;
/** How often waiting checks the connections: fine enough for times in tens of ms, which
 * come from the events themselves and not from this tick. */
const TICK_MS = 20;

export type Kind = 'sse' | 'ws';

/** One connection the lab opened. Times are ms since the run began (`Env.now`). */
export interface Attempt {
  kind: Kind;
  host: string;
  url: string;
  created: number;
  opened: number | null;
  closed: number | null;
  /** It failed before opening (refused, blocked, closed by the server). */
  failed: boolean;
}

export interface Measured {
  /** The page's host name (H) and the other name (O), and the port. */
  host: string;
  other: string;
  port: string;
  /** Phase A: seven EventSources to O. */
  oneHost: Attempt[];
  /** Which of phase A's first six was closed, and when; null until then. */
  closedIndex: number | null;
  closedAt: number | null;
  /** Phase B: seven WebSockets to O. */
  sockets: Attempt[];
  /** Phase C: four EventSources to O, three to H. */
  split: Attempt[];
}

/** What the lab needs of an `EventSource` or a `WebSocket`. It only listens for the
 * outcome and never reads the event (`never`: any handler of one fits). */
export interface Connection {
  onopen: ((e: never) => void) | null;
  onerror: ((e: never) => void) | null;
  readonly readyState: number;
  close(): void;
}
/** `EventSource.CLOSED`: the source gave up (a CONNECTING one is still retrying). */
const SSE_CLOSED = 2;

/** The browser as the lab uses it: the page's constructors and clock, or a simulation. */
export interface Env {
  eventSource(url: string): Connection;
  webSocket(url: string): Connection & { onclose: ((e: never) => void) | null };
  /** Milliseconds, monotonic (`performance.now`). */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export function browserEnv(): Env {
  return {
    eventSource: (url) => new EventSource(url),
    webSocket: (url) => new WebSocket(url),
    now: () => performance.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

export interface Hooks {
  /** A step as it happens, for the run's list of steps. */
  step(text: string): void;
  /** The measurements changed (a connection opened, failed or closed). */
  change(m: Measured): void;
}

export class LabCancelled extends Error {
  override name = 'LabCancelled';
  constructor() {
    super('the lab was cancelled');
  }
}

/** The other name of this machine's loopback, or null for a host the lab cannot pair. */
export function otherHost(host: string): string | null {
  if (host === '127.0.0.1') return 'localhost';
  if (host === 'localhost') return '127.0.0.1';
  return null;
}

export const sseUrl = (host: string, port: string) => `http://${host}:${port}/demo/sse/ticker?rate=1`;
export const wsUrl = (host: string, port: string) => `ws://${host}:${port}/demo/ws/echo`;

/** Runs the three phases and returns what was measured. Every connection it opened is
 * closed when it returns, fails, or is cancelled through `signal`. */
export async function runConnectionLimit(
  env: Env,
  page: { host: string; port: string },
  hooks: Hooks,
  signal?: AbortSignal,
): Promise<Measured> {
  const other = otherHost(page.host);
  if (!other)
    throw new Error(
      `the page is on ${page.host}; this lab pairs 127.0.0.1 with localhost, so open Streamscope on one of them`,
    );
  const m: Measured = {
    host: page.host,
    other,
    port: page.port,
    oneHost: [],
    closedIndex: null,
    closedAt: null,
    sockets: [],
    split: [],
  };
  const t0 = env.now();
  const now = () => env.now() - t0;
  const live: Connection[] = [];
  const changed = () => hooks.change(m);

  const check = () => {
    if (signal?.aborted) throw new LabCancelled();
  };
  /** Waits until `done()` or `ms` passed; cancellable. */
  const waitUntil = async (done: () => boolean, ms: number) => {
    const end = now() + ms;
    while (!done() && now() < end) {
      check();
      await env.sleep(TICK_MS);
    }
    check();
  };

  const openSse = (host: string, list: Attempt[]) => {
    const url = sseUrl(host, page.port);
    const a: Attempt = { kind: 'sse', host, url, created: now(), opened: null, closed: null, failed: false };
    list.push(a);
    const es = env.eventSource(url);
    live.push(es);
    es.onopen = () => {
      if (a.opened === null) a.opened = now();
      changed();
    };
    es.onerror = () => {
      // An EventSource that stays CONNECTING is retrying; CLOSED means it gave up.
      if (es.readyState === SSE_CLOSED && a.opened === null) {
        a.failed = true;
        changed();
      }
    };
    return es;
  };
  const openWs = (host: string, list: Attempt[]) => {
    const url = wsUrl(host, page.port);
    const a: Attempt = { kind: 'ws', host, url, created: now(), opened: null, closed: null, failed: false };
    list.push(a);
    const ws = env.webSocket(url);
    live.push(ws);
    ws.onopen = () => {
      if (a.opened === null) a.opened = now();
      changed();
    };
    const fail = () => {
      if (a.opened === null && !a.failed && a.closed === null) {
        a.failed = true;
        changed();
      }
    };
    ws.onerror = fail;
    ws.onclose = fail;
    return ws;
  };
  const closeAll = (list: Attempt[], conns: Connection[]) => {
    conns.forEach((c, i) => {
      c.close();
      if (list[i].closed === null) list[i].closed = now();
    });
    changed();
  };
  const settled = (list: Attempt[]) => list.every((a) => a.opened !== null || a.failed);

  try {
    // --- A: seven EventSources to one host --------------------------------------------
    hooks.step(`A: opening ${COUNT} EventSources to ${other}:${page.port} (one host)`);
    const a = Array.from({ length: COUNT }, () => openSse(other, m.oneHost));
    changed();
    const firstSix = m.oneHost.slice(0, COUNT - 1);
    await waitUntil(() => settled(firstSix), OPEN_TIMEOUT_MS);
    const openNow = m.oneHost.filter((x) => x.opened !== null).length;
    hooks.step(`A: ${openNow} of ${COUNT} open; holding them for ${HOLD_MS / 1000} s`);
    await waitUntil(() => false, Math.max(0, HOLD_MS - now()));
    // Close the first of the six that opened (the first one when none did).
    const victim = Math.max(
      0,
      firstSix.findIndex((x) => x.opened !== null),
    );
    a[victim].close();
    m.closedIndex = victim;
    m.closedAt = m.oneHost[victim].closed = now();
    changed();
    hooks.step(`A: closed stream ${victim + 1}; waiting for the seventh`);
    const seventh = m.oneHost[COUNT - 1];
    await waitUntil(() => seventh.opened !== null || seventh.failed, OPEN_TIMEOUT_MS);
    hooks.step(
      seventh.opened !== null
        ? `A: the seventh opened ${Math.round(seventh.opened - seventh.created)} ms after it was created`
        : `A: the seventh did not open within ${OPEN_TIMEOUT_MS / 1000} s of the close`,
    );
    closeAll(m.oneHost, a);
    await waitUntil(() => false, SETTLE_MS);

    // --- B: seven WebSockets to the same host ------------------------------------------
    hooks.step(`B: opening ${COUNT} WebSockets to ${other}:${page.port}`);
    const b = Array.from({ length: COUNT }, () => openWs(other, m.sockets));
    changed();
    await waitUntil(() => settled(m.sockets), OPEN_TIMEOUT_MS);
    hooks.step(`B: ${m.sockets.filter((x) => x.opened !== null).length} of ${COUNT} WebSockets open`);
    closeAll(m.sockets, b);
    await waitUntil(() => false, SETTLE_MS);

    // --- C: seven EventSources over two host names --------------------------------------
    hooks.step(`C: opening ${COUNT} EventSources split: 4 to ${other}, 3 to ${page.host}`);
    const c = [
      ...Array.from({ length: 4 }, () => openSse(other, m.split)),
      ...Array.from({ length: 3 }, () => openSse(page.host, m.split)),
    ];
    changed();
    await waitUntil(() => settled(m.split), OPEN_TIMEOUT_MS);
    hooks.step(`C: ${m.split.filter((x) => x.opened !== null).length} of ${COUNT} open`);
    closeAll(m.split, c);
    return m;
  } finally {
    // On cancel or failure too: no stream may outlive the lab.
    for (const conn of live) conn.close();
  }
}

// --- the conclusion ----------------------------------------------------------------------

const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`;
const openTime = (a: Attempt) => (a.opened === null ? null : a.opened - a.created);
const openedCount = (list: Attempt[]) => list.filter((a) => a.opened !== null).length;
const slowest = (list: Attempt[]) => {
  const t = list.map(openTime).filter((x): x is number => x !== null);
  return t.length ? Math.round(Math.max(...t)) : null;
};

/** How the seventh EventSource to one host behaved. */
export type Seventh =
  /** It opened only after one of the six was closed: held back by the limit. */
  | { kind: 'held'; wait: number; afterClose: number }
  /** It opened before any was closed: not held back. */
  | { kind: 'not-held'; wait: number }
  /** It never opened, not even after the close. */
  | { kind: 'never' }
  /** It failed (refused or blocked): says nothing about the limit. */
  | { kind: 'failed' };

export function seventhOf(m: Measured): Seventh {
  const s = m.oneHost[COUNT - 1];
  if (!s || s.failed) return { kind: 'failed' };
  if (s.opened === null) return { kind: 'never' };
  const wait = s.opened - s.created;
  if (m.closedAt !== null && s.opened >= m.closedAt) return { kind: 'held', wait, afterClose: s.opened - m.closedAt };
  return { kind: 'not-held', wait };
}

/** Phase A's streams open before any was closed. */
function openBeforeClose(m: Measured): number {
  return m.oneHost.filter((a) => a.opened !== null && (m.closedAt === null || a.opened < m.closedAt)).length;
}

/** The figures and the conclusion, drawn from what was measured: a run that contradicts
 * the expected result (a browser with another limit, a proxy, HTTP/2) says what it saw. */
export function concludeConnectionLimit(m: Measured): LabResult {
  const seventh = seventhOf(m);
  const wsSeventh = m.sockets[COUNT - 1];
  const figures: LabFigure[] = [
    {
      name: `open before any was closed, ${COUNT} to one host`,
      ws: openedCount(m.sockets),
      sse: openBeforeClose(m),
      unit: `of ${COUNT}`,
    },
    {
      name: 'the seventh to one host: time to open',
      ws: wsSeventh ? (openTime(wsSeventh) === null ? 'did not open' : Math.round(openTime(wsSeventh)!)) : null,
      sse:
        seventh.kind === 'held' || seventh.kind === 'not-held'
          ? Math.round(seventh.wait)
          : seventh.kind === 'never'
            ? 'did not open'
            : 'failed',
      unit: 'ms',
    },
    {
      name: 'the seventh opened',
      ws: null,
      sse:
        seventh.kind === 'held'
          ? `${ms(seventh.afterClose)} after one was closed`
          : seventh.kind === 'not-held'
            ? 'before any was closed'
            : seventh.kind === 'never'
              ? 'never, not even after one was closed'
              : 'failed to connect',
      unit: '',
    },
    {
      name: 'slowest of the first six: time to open',
      ws: slowest(m.sockets.slice(0, COUNT - 1)),
      sse: slowest(m.oneHost.slice(0, COUNT - 1)),
      unit: 'ms',
    },
    {
      name: `${COUNT} split over two host names (4 + 3): open`,
      ws: null,
      sse: openedCount(m.split),
      unit: `of ${COUNT}`,
    },
  ];

  const sentences: string[] = [];
  const sixOpen = openedCount(m.oneHost.slice(0, COUNT - 1));
  const failedA = m.oneHost.filter((a) => a.failed).length;
  if (failedA === COUNT) {
    sentences.push(
      `None of the ${COUNT} EventSources to ${m.other} could connect, so this run shows nothing about the limit.`,
    );
  } else {
    const six =
      sixOpen === COUNT - 1
        ? `Six EventSources to ${m.other} opened at once`
        : `Only ${sixOpen} of the first six EventSources to ${m.other} opened`;
    switch (seventh.kind) {
      case 'held':
        sentences.push(
          `${six}; the seventh waited ${ms(seventh.wait)} and opened only ${ms(seventh.afterClose)} after one of them was closed: over HTTP/1.1 this browser keeps at most six connections per host, and an open EventSource holds one for as long as it lasts.`,
        );
        break;
      case 'not-held':
        sentences.push(
          `${six}, and the seventh opened too, after ${ms(seventh.wait)}, before any was closed: it was not held back, so the six-per-host limit did not apply here.`,
        );
        break;
      case 'never':
        sentences.push(
          `${six}; the seventh did not open within ${OPEN_TIMEOUT_MS / 1000} s, not even after one of them was closed.`,
        );
        break;
      case 'failed':
        sentences.push(`${six}; the seventh failed to connect, which says nothing about the limit.`);
    }
  }
  const wsOpen = openedCount(m.sockets);
  sentences.push(
    wsOpen === COUNT
      ? `All ${COUNT} WebSockets to the same host opened (the slowest after ${ms(slowest(m.sockets) ?? 0)}): they are not held to the six of HTTP/1.1 requests.`
      : `Only ${wsOpen} of ${COUNT} WebSockets to the same host opened${m.sockets.some((a) => a.failed) ? ` (${m.sockets.filter((a) => a.failed).length} failed)` : ''}.`,
  );
  const splitOpen = openedCount(m.split);
  const toOther = m.split.filter((a) => a.host === m.other);
  const toHost = m.split.filter((a) => a.host === m.host);
  sentences.push(
    splitOpen === COUNT
      ? `Split over two host names (${toOther.length} to ${m.other}, ${toHost.length} to ${m.host}), all ${COUNT} EventSources opened: the limit is counted per host, not per browser.`
      : `Split over two host names, only ${splitOpen} of ${COUNT} EventSources opened (${openedCount(toOther)} of ${toOther.length} to ${m.other}, ${openedCount(toHost)} of ${toHost.length} to ${m.host}).`,
  );

  return {
    lab: LAB,
    figures,
    conclusion: sentences.join(' '),
    notes: [
      'The embedded server speaks HTTP/1.1 only over plain HTTP, so HTTP/2, which carries every stream to a host over one connection and so lifts the limit, cannot be shown live here.',
      'Times are measured in this page, from creating each connection to its open event.',
      'The limit is the browser’s, which is why this lab runs in the page and not in the engine or `sscope lab`.',
    ],
  };
}
