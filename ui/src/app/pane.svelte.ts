// One pane's state: its request settings, the connections it opened, the one it shows,
// its error and its view toggles. Views bind to it directly. The list of panes and what
// adding, connecting or closing one does belong to `panes.svelte.ts`; keeping panes
// across reloads to `workspace.ts`.

import type { Proto } from '../contract';
import type { DeltaMode } from '../lib/format';
import type { DecoderChoice } from '../decoders/session';
import { defaultConfig, protoOf, type PaneConfig } from '../store/config';
import { NO_FILTER, type FilterSpec } from '../store/filter';
import { ApiError } from '../transport/api';
import type { ConnState, ErrorCode, OpenRequest } from '../transport/types';

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

  constructor(id: string, config: PaneConfig) {
    this.id = id;
    this.config = config;
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
