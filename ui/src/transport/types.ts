// The shapes of the server's HTTP API (crates/server/src/api.rs, ui_socket.rs,
// demo/catalog.rs). Records themselves are in ../contract.ts.

import type { Proto, StreamRecord } from '../contract';

export interface Counts {
  events_in: number;
  events_out: number;
  bytes_in: number;
  bytes_out: number;
  /** Bytes on the wire: frame headers, masks, SSE field names and line ends, handshakes. */
  wire_in: number;
  wire_out: number;
}

export type ConnState = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'failed';

/** A connection as the live socket's `list` names it: that it exists and its state,
 * without the counts (which `conns` carries for watched connections only). */
export interface ConnListing {
  id: string;
  proto: Proto;
  url: string;
  name: string;
  state: ConnState;
  since: string;
  /** Another app's connection seen through a tap: it cannot send (absent otherwise). */
  tap?: boolean;
}

/** A running reverse tap, as `/api/taps` shows it. */
export interface TapView {
  id: string;
  /** Where the app under debug should connect: `127.0.0.1:PORT`. */
  listen: string;
  /** The upstream's URL; for a proxy, `proxy (decrypting …)`. */
  upstream: string;
  /** Present (true) for a proxy. */
  proxy?: boolean;
  /** TCP connections the app opened to the tap. */
  clients: number;
  /** WebSockets and event streams recorded as connections. */
  recorded: number;
  /** Other requests passed through and counted, not recorded. */
  passed: number;
  /** Requests the upstream could not answer (the app got a 502). */
  failed: number;
}

/** `POST /api/taps`. */
export interface StartTapRequest {
  /** `127.0.0.1:PORT`; port 0 picks a free one. */
  listen: string;
  /** The endpoint, for a reverse tap. */
  upstream?: string;
  insecure?: boolean;
  /** An HTTP proxy instead of a reverse tap. */
  proxy?: boolean;
  /** The proxy's hosts to decrypt with the tap's CA. */
  decrypt?: string[];
}

/** A connection as `/api/connections` and the live socket's `conns` show it: its
 * listing and its counts. */
export interface ConnView extends ConnListing {
  last_seq: number;
  recorded_bytes: number;
  totals: Counts;
  /** The last complete second. */
  rate: Counts;
  /** The repeat the server runs on this connection; absent when none runs. */
  repeat?: RepeatView;
  /** True once a latency sample was measured (a ping's round trip, or the sender's
   * clock in a payload); absent before. */
  latency_seen?: boolean;
}

/** A running repeat (crates/server/src/commands.rs). */
export interface RepeatView {
  id: string;
  interval_ms: number;
  /** Sends in all; absent when it repeats until stopped. */
  count?: number;
  /** Messages sent so far. */
  sent: number;
}

/** `POST /api/connections/{id}/repeat`: the message as `send` takes it, sent every
 * `interval_ms` (1 ms to one day), `count` times (1 to 10,000,000) or until stopped. */
export interface RepeatRequest {
  message: Exclude<SendRequest, { kind: 'close' }>;
  interval_ms: number;
  count?: number;
}

/** `POST /api/connections`. */
export interface OpenRequest {
  url: string;
  proto?: Proto;
  name?: string;
  headers: [string, string][];
  subprotocols: string[];
  bearer?: string;
  basic?: string;
  insecure: boolean;
  connect_timeout_secs?: number;
  ping_interval_secs?: number;
  pong_timeout_secs?: number;
  method?: 'GET' | 'POST';
  body?: string;
  last_event_id?: string;
  reconnect?: boolean;
  reconnect_on_end?: boolean;
  retry_ms?: number;
  ca_file?: string;
  max_message?: number;
  max_frame?: number;
  max_attempts?: number;
  backoff?: boolean;
  idle_timeout_secs?: number;
  max_line?: number;
  max_event?: number;
}

/** `POST /api/connections/{id}/send`. */
export type SendRequest =
  | { kind: 'text'; data: string }
  | { kind: 'json'; data: string }
  | { kind: 'binary'; hex: string }
  | { kind: 'binary'; base64: string }
  | { kind: 'ping'; hex: string }
  | { kind: 'ping'; text: string }
  | { kind: 'close'; code: number; reason: string };

/** One page of `GET /api/connections/{id}/search` (crates/server/src/api.rs). */
export interface SearchPage {
  /** Matching seqs, newest first. */
  matches: number[];
  /** The `before` of the next page; `null` once the oldest record was searched. */
  next: number | null;
  /** Records the server read for this page. */
  scanned: number;
}

/** What a search asks the server for: the filter's text, kinds and directions. */
export interface SearchRequest {
  text: string;
  kinds: readonly string[];
  dirs: readonly string[];
  /** Only records with seq < `before`; absent for the newest first. */
  before?: number;
  /** Only records with seq > `after`; absent for down to the oldest. */
  after?: number;
  limit?: number;
}

export interface RecordPage {
  records: StreamRecord[];
  next: number;
  last_seq: number;
}

export interface DemoParam {
  name: string;
  type: 'integer' | 'string';
  default: number | string | null;
  description: string;
  min?: number;
  max?: number;
  max_bytes?: number;
}

/** One entry of `GET /demo`. */
export interface DemoListing {
  path: string;
  proto: Proto;
  method: 'GET' | 'POST';
  title: string;
  description: string;
  params: DemoParam[];
}

/** The codes the server answers errors with (crates/server/src/error.rs), plus the
 * UI's own for a server it cannot reach. */
export type ErrorCode =
  | 'unauthorized'
  | 'bad_origin'
  | 'bad_host'
  | 'unknown_connection'
  | 'connection_ended'
  | 'bad_request'
  | 'invalid_url'
  | 'invalid_json'
  | 'payload_too_large'
  | 'refused'
  | 'not_found'
  | 'method_not_allowed'
  | 'gone'
  | 'conflict'
  | 'busy'
  | 'unreachable'
  | 'unexpected';

/** A message of the live socket. */
export interface LiveBatch {
  type: 'batch';
  /** Contract records (the server's default format). */
  records?: unknown[];
  /** With `format=runs`: contract records and runs of text or event records (decode.ts). */
  items?: unknown[];
  /** The watched connections with their counts, a few times a second. */
  conns?: ConnView[];
  /** Every connection the server holds: in the first batch, then when it changed. */
  list?: ConnListing[];
}

/** The live socket's answer to a message it could not read. */
export interface LiveError {
  type: 'error';
  code: string;
  message: string;
}

// --- the labs (`/api/labs…`, crates/labs and crates/server/src/api/labs) ---------------

/** Where a lab runs: in the engine (the server drives it; `POST /api/labs/{name}`), or in
 * the page itself (the connection-limit lab: the limit it shows is the browser's). */
export type LabPlace = 'engine' | 'page';

/** One lab as `GET /api/labs` lists it. */
export interface LabInfo {
  /** The CLI's name: `direction`, `reconnect`, `dead-peer`, `binary`, `connection-limit`, `overhead`. */
  name: string;
  title: string;
  /** One line: what it asks. */
  question: string;
  /** A paragraph: what it does and what to look at. */
  explains: string;
  steps: string[];
  runs_in: LabPlace;
}

export type Verdict = 'true' | 'false' | 'partly' | 'outdated';

/** A claim WebSocket-vs-SSE comparisons commonly make, and what is true today. */
export interface Claim {
  claim: string;
  verdict: Verdict;
  truth: string;
  source: { title: string; url: string };
  /** The lab that shows it, if one does. */
  lab: string | null;
}

/** `GET /api/labs`. */
export interface LabCatalogue {
  labs: LabInfo[];
  claims: Claim[];
}

/** One measured figure: a row of the result card. A string is shown as given (a list of
 * lost ids, "yes"); `null` means the figure does not apply to that protocol. */
export interface LabFigure {
  name: string;
  ws: number | string | null;
  sse: number | string | null;
  unit: string;
}

/** What a lab measured and the conclusion drawn from those measurements. */
export interface LabResult {
  lab: string;
  figures: LabFigure[];
  conclusion: string;
  notes: string[];
}

export interface LabStep {
  /** RFC 3339 with microseconds. */
  t: string;
  text: string;
}

/** A session connection a lab opened: an ordinary connection (`/api/connections`, the
 * live socket) with the part it plays in the lab. */
export interface LabConn {
  id: string;
  proto: Proto;
  role: string;
}

export type LabRunState = 'running' | 'done' | 'failed';

/** `GET /api/labs/runs/{run}`: a run as it stands; `conns` and `steps` grow while it runs. */
export interface LabRun {
  run: string;
  lab: string;
  state: LabRunState;
  steps: LabStep[];
  conns: LabConn[];
  result: LabResult | null;
  error: string | null;
}

// --- the session library (`/api/sessions…`, crates/server/src/sessions.rs) -------------

/** One session of the library: a run of the server that recorded, or an imported file. */
export interface SessionSummary {
  /** A number: ids are the library's, never reused. */
  id: number;
  name: string;
  /** RFC 3339 with microseconds. */
  started: string;
  /** `null` while it records (or a crash left it open). */
  ended: string | null;
  duration_ms: number | null;
  conns: number;
  records: number;
  /** Size on disk. */
  bytes: number;
  origin: 'live' | 'import';
  /** Recording now (this server run's session). */
  live: boolean;
}

/** `GET /api/sessions`: newest first. `recording` and `disk` are null, and the list
 * empty, when the server keeps recordings in memory only. */
export interface SessionList {
  sessions: SessionSummary[];
  recording: number | null;
  disk: { used: number; budget: number } | null;
}

/** What a connection was opened with (`POST /api/connections`'s body) minus its secrets;
 * `secrets` names what was left out: `bearer`, `basic`, `header Authorization`, … */
export type ConnSettings = Partial<OpenRequest> & { url: string; secrets?: string[] };

/** One connection of a session opened from the library: an ordinary, closed connection
 * of the server's session now. */
export interface OpenedConn {
  id: string;
  proto: Proto;
  url: string;
  name: string;
  /** `null` when the recording kept none (imported files). */
  settings: ConnSettings | null;
  /** The id it had while recording: panes that showed it then knew it by this. */
  recorded_as: string;
}

/** `POST /api/sessions/{id}/open`. */
export interface OpenedSession {
  session: number;
  conns: OpenedConn[];
}

/** `POST /api/sessions/import`: the new session, with what the importer assumed or skipped. */
export interface ImportedSession extends SessionSummary {
  notes: string[];
}

/** A saved connection setup (`/api/collections`): the pane's settings, secrets empty. */
export interface SavedItem {
  id: string;
  name: string;
  /** A pane's settings as `store/config.ts` keeps them; read with `restoreConfig`. */
  config: Record<string, unknown>;
}

export interface Collection {
  id: string;
  name: string;
  items: SavedItem[];
}

export interface EnvironmentView {
  id: string;
  name: string;
  vars: { name: string; value: string; secret?: boolean }[];
}

/** `GET /api/collections`. */
export interface CollectionsListing {
  /** False with `--memory-only`: gone when the server stops. */
  persisted: boolean;
  /** Set when the store's file could not be read at start (kept aside). */
  notice?: string;
  collections: Collection[];
  environments: EnvironmentView[];
}

/** `POST /api/collections/import`. */
export interface ImportedCollections {
  collections: Collection[];
  environments: EnvironmentView[];
  skipped_environments: string[];
  /** What a Postman import left out or changed. */
  notes?: string[];
}
