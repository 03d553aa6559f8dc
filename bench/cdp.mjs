// A browser tab driven over the Chrome DevTools Protocol through one of Playwright's
// browser sessions, and the polling wait the Chromium benchmarks use: shared by
// bench/live-cpu.mjs and bench/ui-firehose.mjs, so both reach a page the same way.
// What each benchmark does in the tab (input, metrics, its workspace) stays in its own
// script; the desktop benchmark drives WebKitGTK over WebDriver instead.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every `every` ms until it returns something truthy (returned), or throws
 * after `timeout` ms. */
export async function until(what, fn, timeout, every = 200) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeout) {
    last = await fn();
    if (last) return last;
    await sleep(every);
  }
  throw new Error(`waited ${timeout} ms for ${what}`);
}

/** True once the UI shows a pane and its live link is up: what a tab waits for after
 * navigating. Evaluated in the page. */
export const uiReady = () =>
  !!document.querySelector('section.pane') && /Live/.test(document.querySelector('.live')?.textContent ?? '');

export class CdpTab {
  /** A blank tab of `browser` (Playwright's) in a browser context of its own, sized
   * `viewport`; `new this` so a subclass gets its own kind of tab. */
  static async create(browser, viewport) {
    const cdp = await browser.newBrowserCDPSession();
    const { browserContextId } = await cdp.send('Target.createBrowserContext', { disposeOnDetach: true });
    const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank', browserContextId });
    // Not flattened: messages go through this browser session, so Playwright's own
    // connection needs to know nothing of the target.
    const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: false });
    const tab = new this(cdp, browserContextId, sessionId);
    await tab.send('Emulation.setDeviceMetricsOverride', { ...viewport, deviceScaleFactor: 1, mobile: false });
    return tab;
  }

  constructor(cdp, contextId, sessionId) {
    this.cdp = cdp;
    this.contextId = contextId;
    this.sessionId = sessionId;
    this.next = 1;
    this.waiting = new Map();
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      if (e.sessionId !== sessionId) return;
      const m = JSON.parse(e.message);
      const w = m.id !== undefined && this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error) w.reject(new Error(`${w.method}: ${m.error.message}`));
      else w.resolve(m.result);
    });
  }

  send(method, params = {}) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, method });
      this.cdp
        .send('Target.sendMessageToTarget', { sessionId: this.sessionId, message: JSON.stringify({ id, method, params }) })
        .catch(reject);
    });
  }

  /** Runs `fn(...args)` in the page (awaiting a promise) and returns its value. */
  async eval(fn, ...args) {
    const r = await this.send('Runtime.evaluate', {
      expression: `(${fn})(...${JSON.stringify(args)})`,
      awaitPromise: true,
      returnByValue: true,
    });
    if (r.exceptionDetails)
      throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value;
  }

  async close() {
    await this.cdp.send('Target.disposeBrowserContext', { browserContextId: this.contextId }).catch(() => {});
    await this.cdp.detach().catch(() => {});
  }
}
