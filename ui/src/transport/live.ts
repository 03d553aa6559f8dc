// The page's side of the live record stream. Only this folder knows that records arrive
// over `/api/live` through a worker; the rest of the UI gets chunks and connection lists.

import type { Chunk } from './decode';
import type { Session } from './session';
import type { ConnView } from './types';

export type LiveState = 'connecting' | 'open' | 'retrying' | 'stopped';

export type ToWorker =
  | { type: 'start'; session: Session; cursors: [string, number][]; ignore: string[] }
  | { type: 'ignore'; ids: string[] }
  | { type: 'stop' };

export type FromWorker =
  { type: 'batch'; chunks: Chunk[]; conns?: ConnView[] } | { type: 'status'; state: LiveState; attempt: number };

export interface LiveHandlers {
  chunks(chunks: Chunk[]): void;
  conns(views: ConnView[]): void;
  status(state: LiveState, attempt: number): void;
}

export class LiveFeed {
  private worker: Worker;

  constructor(
    private session: Session,
    handlers: LiveHandlers,
  ) {
    this.worker = new Worker(new URL('./live.worker.ts', import.meta.url), { type: 'module', name: 'sscope-live' });
    this.worker.onmessage = (ev: MessageEvent<FromWorker>) => {
      const msg = ev.data;
      if (msg.type === 'batch') {
        if (msg.chunks.length) handlers.chunks(msg.chunks);
        if (msg.conns) handlers.conns(msg.conns);
      } else handlers.status(msg.state, msg.attempt);
    };
    this.worker.onerror = () => handlers.status('stopped', 0);
  }

  /** Starts streaming. `cursors`: the last seq already held per connection (records
   * after it arrive); `ignore`: connections whose records the page does not want. */
  start(cursors: Map<string, number>, ignore: Iterable<string>) {
    this.post({ type: 'start', session: this.session, cursors: [...cursors], ignore: [...ignore] });
  }

  ignore(ids: readonly string[]) {
    // A copy: `ids` may be a Svelte state proxy, which a worker message cannot carry.
    if (ids.length) this.post({ type: 'ignore', ids: [...ids] });
  }

  stop() {
    this.post({ type: 'stop' });
    this.worker.terminate();
  }

  private post(msg: ToWorker) {
    this.worker.postMessage(msg);
  }
}
