// Helpers for the labs' tests: a simulated browser for the page lab, and lab runs as the
// server reports them.

import type { LabCatalogue, LabInfo, LabRun } from '../transport/types';
import type { Connection, Env } from './connlimit';

// A browser on a virtual clock: EventSources to one host share `limit` connections (a
// queued one opens when a slot frees), WebSockets open at once. `sleep` moves the clock
// and delivers what was due; nothing waits for real time.
export function simulatedBrowser(limit: number, latency = 4) {
  let clock = 0;
  const due: { at: number; fire: () => void }[] = [];
  const active = new Map<string, number>();
  const queued = new Map<string, Fake[]>();
  const all: Fake[] = [];

  class Fake implements Connection {
    onopen: (() => void) | null = null;
    onerror: (() => void) | null = null;
    onclose: (() => void) | null = null;
    readyState = 0;
    holds = false;
    constructor(
      readonly url: string,
      readonly pooled: boolean,
    ) {
      all.push(this);
      const host = new URL(url).hostname;
      if (!pooled || (active.get(host) ?? 0) < limit) this.start();
      else queued.set(host, [...(queued.get(host) ?? []), this]);
    }
    get host() {
      return new URL(this.url).hostname;
    }
    start() {
      if (this.pooled) {
        this.holds = true;
        active.set(this.host, (active.get(this.host) ?? 0) + 1);
      }
      due.push({
        at: clock + latency,
        fire: () => {
          if (this.readyState !== 0) return;
          this.readyState = 1;
          this.onopen?.();
        },
      });
    }
    close() {
      if (this.readyState === 2 || this.readyState === 3) return;
      this.readyState = this.pooled ? 2 : 3;
      const q = queued.get(this.host) ?? [];
      queued.set(
        this.host,
        q.filter((f) => f !== this),
      );
      if (this.holds) {
        this.holds = false;
        active.set(this.host, active.get(this.host)! - 1);
        const next = queued.get(this.host)!.shift();
        next?.start();
      }
    }
  }

  const env: Env = {
    eventSource: (url) => new Fake(url, true),
    webSocket: (url) => new Fake(url, false),
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
      for (const d of due.filter((x) => x.at <= clock).sort((x, y) => x.at - y.at)) {
        due.splice(due.indexOf(d), 1);
        d.fire();
      }
    },
  };
  return { env, all };
}

export function labInfo(name: string, runs_in: LabInfo['runs_in'] = 'engine'): LabInfo {
  return {
    name,
    title: `The ${name} lab`,
    question: `What does ${name} show?`,
    explains: 'It explains.',
    steps: ['one', 'two'],
    runs_in,
  };
}

export const catalogue: LabCatalogue = {
  labs: [labInfo('reconnect'), labInfo('connection-limit', 'page')],
  claims: [
    {
      claim: 'Browsers allow six SSE connections in all',
      verdict: 'false',
      truth: 'Six per host over HTTP/1.1.',
      source: { title: 'HTML Standard', url: 'https://html.spec.whatwg.org/multipage/server-sent-events.html' },
      lab: 'connection-limit',
    },
  ],
};

export function labRun(over: Partial<LabRun> = {}): LabRun {
  return { run: 'lab-1', lab: 'reconnect', state: 'running', steps: [], conns: [], result: null, error: null, ...over };
}
