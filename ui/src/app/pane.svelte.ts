// One pane's state: its request settings, the connections it opened or was given from
// the session library (recorded, read-only), the one it shows, its error and its view
// toggles (filter, pause, where Clear started the view afresh). Views bind to it directly. The list of panes and what
// adding, connecting or closing one does belong to `panes.svelte.ts`; keeping panes
// across reloads to `workspace.ts`.

import type { Proto } from '../contract';
import type { DeltaMode } from '../lib/format';
import type { DecoderChoice } from '../decoders/session';
import { defaultConfig, protoOf, type PaneConfig } from '../store/config';
import { NO_FILTER, type FilterSpec } from '../store/filter';
import { ApiError } from '../transport/api';
import type { ConnSettings, ConnState, ErrorCode, OpenRequest } from '../transport/types';

/** Where a connection shown from the session library was recorded. */
export interface RecordedConn {
  /** The library's session id. */
  session: number;
  /** The session's start (RFC 3339): the pane's "recorded <date>" marker. */
  started: string;
  /** The id it had while recording (`recorded_as`). */
  recordedAs: string;
  /** What it was opened with, without secrets; `null` for an imported file. */
  settings: ConnSettings | null;
}

/** A pane restored from the saved workspace whose connections the server no longer has
 * (it restarted): which library session held them, so the pane can offer to open it. */
export interface EarlierSession {
  /** `null` when the workspace did not say (saved by an older build, or memory only). */
  session: number | null;
  /** The ids the connections had in that session. */
  conns: string[];
  /** The session's name and start, when the library still lists it. */
  name?: string;
  started?: string;
  /** Set when the library no longer has it (deleted). */
  missing?: boolean;
}

export interface PaneError {
  code: ErrorCode | 'invalid_input';
  message: string;
  field?: 'url' | 'headers' | 'auth' | 'ping' | 'options';
}

let nextPane = 1;
/** A pane id no earlier page used: ids key saved messages and chart colours. */
export function newPaneId(): string {
  return `p${Date.now().toString(36)}${(nextPane++).toString(36)}`;
}

export class PaneState {
  readonly id: string;
  config: PaneConfig = $state(defaultConfig(''));
  /** The connection shown; `null` before the first connect. */
  connId: string | null = $state(null);
  /** Every connection this pane opened, oldest first. */
  conns: string[] = $state([]);
  error: PaneError | null = $state(null);
  busy = $state(false);
  filter: FilterSpec = $state(NO_FILTER);
  paused = $state(false);
  /** What the frame list's Δt column measures. */
  delta: DeltaMode = $state('prev');
  /** How the frames are read: automatically (subprotocol, URL, first messages), not at
   * all, with a decoder chosen by hand, or as an LLM token stream. */
  decoder: DecoderChoice = $state('auto');
  /** What was asked for each connection (secrets removed), for the detail view. */
  readonly requests = new Map<string, OpenRequest>();
  /** The URL the server reported for each connection, to recognise it after a reload. */
  readonly connUrls = new Map<string, string>();
  /** The pane's connections that show a library session's (read-only), by server id. */
  recorded: Record<string, RecordedConn> = $state({});
  /** Set when the pane came back from a saved workspace without its connections. */
  earlier: EarlierSession | null = $state(null);
  /** Per connection, the last seq before the pane's Clear: the view shows only later
   * frames, while the recording (export, search of the server) keeps every one. */
  cleared: Record<string, number> = $state({});
  /** The saved connection these settings came from or were saved as: what "Save"
   * writes back to. */
  savedAs: { collection: string; item: string } | null = $state(null);

  constructor(id: string, config: PaneConfig) {
    this.id = id;
    this.config = config;
  }

  /** Where the shown connection was recorded, when it came from the library. */
  get shownRecording(): RecordedConn | null {
    return (this.connId && this.recorded[this.connId]) || null;
  }

  /** The protocol the URL field implies. */
  get urlProto(): Proto | null {
    return protoOf(this.config.url);
  }
}

export function isLive(state: ConnState | undefined): boolean {
  return state === 'connecting' || state === 'open' || state === 'reconnecting';
}

/** What a pane shows for a failed command: the server's code and message, and the field
 * to mark when the code names one. */
export function toPaneError(e: unknown): PaneError {
  if (e instanceof ApiError)
    return { code: e.code, message: e.message, field: e.code === 'invalid_url' ? 'url' : undefined };
  return { code: 'unexpected', message: e instanceof Error ? e.message : String(e) };
}
