import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../transport/api';
import type { LabConn, LabRun } from '../transport/types';
import { Labs, POLL_FAILURES, POLL_MS, type LabsApi } from './session.svelte';
import { catalogue, labInfo, labRun, simulatedBrowser } from './testing';

const result = {
  lab: 'reconnect',
  figures: [{ name: 'events lost', ws: '4, 5', sse: 0, unit: 'events' }],
  conclusion: 'SSE lost none.',
  notes: [],
};

/** An API whose run answers are `answers`, one per poll (the last repeats). */
function fakeApi(answers: (LabRun | Error)[]) {
  let i = 0;
  const api = {
    labs: vi.fn(async () => catalogue),
    startLab: vi.fn(async () => 'lab-1'),
    labRun: vi.fn(async () => {
      const a = answers[Math.min(i++, answers.length - 1)];
      if (a instanceof Error) throw a;
      return structuredClone(a);
    }),
  } satisfies LabsApi;
  return api;
}

function labsWith(api: LabsApi) {
  let pane = 0;
  const shown: LabConn[][] = [];
  const closed: string[][] = [];
  const labs = new Labs({
    api,
    page: { host: '127.0.0.1', port: '4000' },
    showConns: async (conns) => {
      shown.push(conns);
      return conns.map(() => `pane${++pane}`);
    },
    closePanes: async (ids) => void closed.push(ids),
    env: () => simulatedBrowser(6).env,
  });
  return { labs, shown, closed };
}

/** Lets every due poll run. */
async function polls(n: number) {
  for (let i = 0; i < n; i++) await vi.advanceTimersByTimeAsync(POLL_MS);
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('an engine lab run', () => {
  it('is polled until done, opening one pane per connection as it appears', async () => {
    const c1 = { id: 'c1', proto: 'ws' as const, role: 'WebSocket stream' };
    const c2 = { id: 'c2', proto: 'sse' as const, role: 'SSE stream' };
    const api = fakeApi([
      labRun({ conns: [c1], steps: [{ t: '2026-12-07T00:00:00.000000Z', text: 'open ws' }] }),
      labRun({ conns: [c1, c2] }),
      labRun({ conns: [c1, c2] }),
      labRun({ state: 'done', conns: [c1, c2], result }),
    ]);
    const { labs, shown } = labsWith(api);
    await labs.load();
    await labs.run(labs.lab('reconnect')!, true);
    expect(api.startLab).toHaveBeenCalledWith('reconnect', true);
    expect(labs.shown?.run.steps.map((s) => s.text)).toEqual(['open ws']);
    expect(labs.running).toBe(true);
    await polls(3);
    expect(labs.shown?.run.state).toBe('done');
    expect(labs.shown?.run.result?.conclusion).toBe('SSE lost none.');
    expect(shown).toEqual([[c1], [c2]]);
    // Done: no more polls.
    const calls = api.labRun.mock.calls.length;
    await polls(5);
    expect(api.labRun.mock.calls.length).toBe(calls);
  });

  it('shows a failed run with its error and stops polling', async () => {
    const api = fakeApi([labRun(), labRun({ state: 'failed', error: 'the demo server did not answer' })]);
    const { labs } = labsWith(api);
    await labs.run(labInfo('reconnect'));
    await polls(1);
    expect(labs.shown?.run).toMatchObject({ state: 'failed', error: 'the demo server did not answer' });
    await polls(4);
    expect(api.labRun).toHaveBeenCalledTimes(2);
  });

  it('says why a lab was refused', async () => {
    const api = fakeApi([labRun()]);
    api.startLab.mockRejectedValueOnce(new ApiError('not_found', 'no such lab', 404));
    const { labs } = labsWith(api);
    await labs.run(labInfo('nope'));
    expect(labs.shown?.run).toMatchObject({ state: 'failed' });
    expect(labs.shown?.run.error).toMatch(/no lab named nope/);
    expect(api.labRun).not.toHaveBeenCalled();
  });

  it('rides out a few failed polls, but not a run the server lost', async () => {
    const down = new ApiError('unreachable', 'the server does not answer');
    const api = fakeApi([down, down, labRun({ state: 'done', result })]);
    const { labs } = labsWith(api);
    await labs.run(labInfo('reconnect'));
    await polls(2);
    expect(labs.shown?.run.state).toBe('done');

    const lost = fakeApi([new ApiError('not_found', 'unknown run', 404)]);
    const second = labsWith(lost).labs;
    await second.run(labInfo('reconnect'));
    expect(second.shown?.run.error).toBe('the server no longer has run lab-1');

    const gone = fakeApi([down]);
    const third = labsWith(gone).labs;
    await third.run(labInfo('reconnect'));
    await polls(POLL_FAILURES);
    expect(third.shown?.run.error).toMatch(/^lost the run/);
    expect(gone.labRun).toHaveBeenCalledTimes(POLL_FAILURES);
  });

  it('a rerun replaces the panes the previous run opened, and the old run stops polling', async () => {
    const c1 = { id: 'c1', proto: 'ws' as const, role: 'chat' };
    const api = fakeApi([labRun({ conns: [c1] })]);
    const { labs, closed, shown } = labsWith(api);
    await labs.run(labInfo('direction'));
    expect(shown).toEqual([[c1]]);
    await labs.rerun();
    expect(closed).toEqual([['pane1']]);
    // The same connection id in a new run is a new connection to show.
    expect(shown).toEqual([[c1], [c1]]);
    const before = api.labRun.mock.calls.length;
    await polls(1);
    // One loop polls, not two.
    expect(api.labRun.mock.calls.length).toBe(before + 1);
  });

  it('saves the run as the server gave it, named after the lab', async () => {
    const api = fakeApi([labRun({ state: 'done', result })]);
    const { labs } = labsWith(api);
    await labs.run(labInfo('reconnect'));
    const doc = labs.document()!;
    expect(doc.filename).toBe('lab-reconnect-result.json');
    expect(doc.path).toBe('/api/labs/runs/lab-1');
    expect(JSON.parse(doc.text)).toEqual(labRun({ state: 'done', result }));
  });
});

describe('the page lab', () => {
  it('runs in the page without asking the server, and ends with a result drawn from its measurements', async () => {
    vi.useRealTimers();
    const api = fakeApi([labRun()]);
    const { labs } = labsWith(api);
    await labs.run(labInfo('connection-limit', 'page'));
    expect(api.startLab).not.toHaveBeenCalled();
    const s = labs.shown!;
    expect(s.run.state).toBe('done');
    expect(s.run.result?.lab).toBe('connection-limit');
    expect(s.run.result?.conclusion).toMatch(/the seventh waited/);
    expect(s.measured?.oneHost).toHaveLength(7);
    expect(s.run.steps.at(-1)?.text).toBe('done');
    const doc = labs.document()!;
    expect(doc.path).toBeUndefined();
    expect(JSON.parse(doc.text).result.figures).toHaveLength(5);
  });

  it('cancelling closes its connections and says it was cancelled', async () => {
    vi.useRealTimers();
    const sim = simulatedBrowser(6);
    let labs: Labs | null = null;
    // Cancelled from inside phase A, once three streams are open.
    const env = {
      ...sim.env,
      eventSource: (url: string) => {
        const c = sim.env.eventSource(url);
        if (sim.all.length === 3) queueMicrotask(() => labs?.cancel());
        return c;
      },
    };
    labs = new Labs({
      api: fakeApi([labRun()]),
      page: { host: 'localhost', port: '4000' },
      showConns: async () => [],
      closePanes: async () => {},
      env: () => env,
    });
    await labs.run(labInfo('connection-limit', 'page'));
    expect(sim.all).toHaveLength(7);
    expect(labs.shown?.run).toMatchObject({ state: 'failed', error: 'cancelled' });
    expect(sim.all.every((c) => c.readyState >= 2)).toBe(true);
  });
});
