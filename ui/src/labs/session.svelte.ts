// The labs as this window runs them: the catalogue (labs and claims) from the server, the
// one lab run shown at a time, and what a run does to the workspace. An engine lab is
// started on the server and polled (~4×/s) until it is done or failed; each connection
// it opens gets a pane as soon as the run lists it (the panes' own machinery: the live
// feed streams it like any other connection). The connection-limit lab runs in the page
// (connlimit.ts) and its run is built here in the same shape, so one result card draws
// both. A new run replaces the panes the previous run opened. Drawing is the views'.

import type { Api } from '../transport/api';
import { ApiError } from '../transport/api';
import type { LabCatalogue, LabConn, LabInfo, LabRun } from '../transport/types';
import {
  browserEnv,
  concludeConnectionLimit,
  LabCancelled,
  runConnectionLimit,
  type Env,
  type Measured,
} from './connlimit';
import { resultFileName } from './format';

/** About four polls a second: steps and new connections show up promptly, and a run of
 * a minute costs the server a few hundred small answers. */
export const POLL_MS = 250;
/** Polls that may fail in a row (a server busy with the lab itself) before the run is
 * shown as lost. */
export const POLL_FAILURES = 4;

export type LabsApi = Pick<Api, 'labs' | 'startLab' | 'labRun'>;

export interface LabsDeps {
  api: LabsApi;
  /** Opens a pane on each of these connections; resolves to the panes' ids. */
  showConns(conns: LabConn[]): Promise<string[]>;
  /** Closes panes (and their connections) a previous run opened. */
  closePanes(ids: string[]): Promise<void>;
  /** Where the page is: the connection-limit lab pairs this host with its other name. */
  page: { host: string; port: string };
  /** The browser as the page lab sees it (a simulation in tests). */
  env?: () => Env;
  /** A failed call, for the window's check on a refused token. */
  note?(e: unknown): void;
}

/** The run on screen. */
export interface Shown {
  lab: LabInfo;
  quick: boolean;
  /** The run as it stands: the server's (engine) or built here (page). */
  run: LabRun;
  /** The page lab's connections as measured so far, for its live view. */
  measured: Measured | null;
}

export class Labs {
  catalogue: LabCatalogue | null = $state(null);
  loadError: string | null = $state(null);
  loading = $state(false);
  shown: Shown | null = $state(null);
  /** The start request is on its way. */
  starting = $state(false);

  /** Counts runs: a poll or a page run that belongs to an older one stops. */
  private generation = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private abort: AbortController | null = null;
  private panes: string[] = [];
  private seen = new Set<string>();

  constructor(private readonly deps: LabsDeps) {}

  get labs(): LabInfo[] {
    return this.catalogue?.labs ?? [];
  }

  /** True while the shown run runs. */
  get running(): boolean {
    return this.shown?.run.state === 'running';
  }

  /** Asks the server for the labs and the claims (again, after a failure). */
  async load() {
    this.loading = true;
    try {
      this.catalogue = await this.deps.api.labs();
      this.loadError = null;
    } catch (e) {
      this.deps.note?.(e);
      this.loadError = e instanceof Error ? e.message : String(e);
    } finally {
      this.loading = false;
    }
  }

  lab(name: string): LabInfo | undefined {
    return this.labs.find((l) => l.name === name);
  }

  /** Runs a lab (stopping whatever runs now) and shows it. */
  async run(lab: LabInfo, quick = false) {
    const generation = this.stop();
    await this.replacePanes();
    if (generation !== this.generation) return;
    if (lab.runs_in === 'page') return this.runInPage(lab, generation);
    this.starting = true;
    this.shown = { lab, quick, run: emptyRun('', lab.name), measured: null };
    try {
      const id = await this.deps.api.startLab(lab.name, quick);
      if (generation !== this.generation) return;
      this.shown.run.run = id;
      await this.poll(id, generation, 0);
    } catch (e) {
      if (generation !== this.generation) return;
      this.deps.note?.(e);
      this.fail(startError(e, lab));
    } finally {
      if (generation === this.generation) this.starting = false;
    }
  }

  /** Runs the shown lab again with the same settings. */
  rerun() {
    if (this.shown) return this.run(this.shown.lab, this.shown.quick);
  }

  /** Stops the page lab (closing its connections) or stops following an engine run, and
   * hides the run. */
  cancel() {
    const s = this.shown;
    this.stop();
    if (s && s.run.state === 'running') {
      s.run.state = 'failed';
      s.run.error = 'cancelled';
      step(s.run, 'cancelled');
    }
  }

  /** Leaves the run on screen; stops its polling or page run. Returns the new generation. */
  private stop(): number {
    clearTimeout(this.timer);
    this.abort?.abort();
    this.abort = null;
    this.starting = false;
    return ++this.generation;
  }

  private async replacePanes() {
    const old = this.panes;
    this.panes = [];
    this.seen = new Set();
    if (old.length) await this.deps.closePanes(old).catch(() => {});
  }

  private async poll(id: string, generation: number, failures: number) {
    let run: LabRun;
    try {
      run = await this.deps.api.labRun(id);
    } catch (e) {
      if (generation !== this.generation) return;
      this.deps.note?.(e);
      const gone = e instanceof ApiError && e.status === 404;
      if (gone || failures + 1 >= POLL_FAILURES) {
        this.fail(gone ? `the server no longer has run ${id}` : `lost the run: ${messageOf(e)}`);
        return;
      }
      this.timer = setTimeout(() => void this.poll(id, generation, failures + 1), POLL_MS);
      return;
    }
    if (generation !== this.generation || !this.shown) return;
    this.shown.run = run;
    const fresh = run.conns.filter((c) => !this.seen.has(c.id));
    if (fresh.length) {
      for (const c of fresh) this.seen.add(c.id);
      try {
        const ids = await this.deps.showConns(fresh);
        this.panes.push(...ids);
      } catch (e) {
        // The run goes on; a pane that could not open is not the lab's failure.
        this.deps.note?.(e);
      }
      if (generation !== this.generation) return;
    }
    if (run.state === 'running') this.timer = setTimeout(() => void this.poll(id, generation, 0), POLL_MS);
  }

  private fail(message: string) {
    if (!this.shown) return;
    this.shown.run.state = 'failed';
    this.shown.run.error = message;
  }

  private async runInPage(lab: LabInfo, generation: number) {
    const run = emptyRun('page', lab.name);
    this.shown = { lab, quick: false, run, measured: null };
    const shown = this.shown;
    const abort = (this.abort = new AbortController());
    const env = (this.deps.env ?? browserEnv)();
    try {
      const m = await runConnectionLimit(
        env,
        this.deps.page,
        {
          step: (text) => generation === this.generation && step(shown.run, text),
          // A copy: the view redraws when the object changes, not when the lab mutates it.
          change: (m) => generation === this.generation && (shown.measured = structuredClone(m)),
        },
        abort.signal,
      );
      if (generation !== this.generation) return;
      shown.measured = structuredClone(m);
      shown.run.result = concludeConnectionLimit(m);
      shown.run.state = 'done';
      step(shown.run, 'done');
    } catch (e) {
      if (e instanceof LabCancelled || generation !== this.generation) return;
      shown.run.state = 'failed';
      shown.run.error = messageOf(e);
    } finally {
      if (this.abort === abort) this.abort = null;
    }
  }

  /** The shown run as a saved file: its JSON as the server gives it (or as the page built
   * it), the file name, and where the server serves it (engine runs only). */
  document(): { text: string; filename: string; path?: string } | null {
    const s = this.shown;
    if (!s) return null;
    const run = $state.snapshot(s.run);
    return {
      text: JSON.stringify(run, null, 2) + '\n',
      filename: resultFileName(s.lab.name),
      path: s.lab.runs_in === 'engine' && run.run ? `/api/labs/runs/${encodeURIComponent(run.run)}` : undefined,
    };
  }
}

function emptyRun(id: string, lab: string): LabRun {
  return { run: id, lab, state: 'running', steps: [], conns: [], result: null, error: null };
}

function step(run: LabRun, text: string) {
  run.steps.push({ t: new Date().toISOString(), text });
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Why a lab did not start, in words: the server's message, or what its status means. */
function startError(e: unknown, lab: LabInfo): string {
  if (e instanceof ApiError) {
    if (e.status === 404) return `the server has no lab named ${lab.name} (${e.message})`;
    if (e.status === 409) return `${lab.name} runs in the page, not on the server (${e.message})`;
  }
  return messageOf(e);
}
