// A bare Chrome DevTools Protocol client for the browser benchmarks.
// Playwright enables network instrumentation on every page and worker it
// manages (an event per received chunk, forwarded to the driver), which
// slowed the page's streamed download by about a third; the benchmarks
// launch Chromium themselves and use only Runtime, DOM, Target and Browser.
// Needs a WebSocket client: node >= 22, or node 20 with --experimental-websocket.
import { spawn } from 'node:child_process';

export async function launch(userDataDir) {
  if (typeof WebSocket === 'undefined') throw new Error('no WebSocket in this node: run it with --experimental-websocket');
  const proc = spawn('/usr/bin/chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--disable-background-networking', '--no-first-run', '--remote-debugging-port=0', `--user-data-dir=${userDataDir}`, 'about:blank'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let err = '';
    proc.stderr.on('data', (d) => {
      err += d;
      const m = err.match(/DevTools listening on (ws:\S+)/);
      if (m) resolve(m[1]);
    });
    proc.once('exit', () => reject(new Error(`chromium exited: ${err}`)));
  });
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve);
    ws.addEventListener('error', reject);
  });
  return new Cdp(proc, ws);
}

class Cdp {
  constructor(proc, ws) {
    this.proc = proc;
    this.ws = ws;
    this.next = 1;
    this.replies = new Map();
    this.listeners = new Set();
    ws.addEventListener('message', ({ data }) => {
      const m = JSON.parse(data);
      if (m.id !== undefined) {
        const reply = this.replies.get(m.id);
        this.replies.delete(m.id);
        if (m.error) reply?.reject(new Error(`${m.error.message}`));
        else reply?.resolve(m.result);
      } else {
        for (const l of this.listeners) l(m);
      }
    });
  }

  send(method, params = {}, sessionId = undefined) {
    return new Promise((resolve, reject) => {
      const id = this.next++;
      this.replies.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params, sessionId }));
    });
  }

  // Resolves with the first event for which `pred` is true.
  event(pred) {
    return new Promise((resolve) => {
      const l = (m) => {
        if (pred(m)) {
          this.listeners.delete(l);
          resolve(m);
        }
      };
      this.listeners.add(l);
    });
  }

  // Opens a tab with `init` run before any page script; returns a page handle.
  async open(url, init = null) {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    await this.send('Page.enable', {}, sessionId);
    if (init) await this.send('Page.addScriptToEvaluateOnNewDocument', { source: init }, sessionId);
    const loaded = this.event((m) => m.sessionId === sessionId && m.method === 'Page.loadEventFired');
    await this.send('Page.navigate', { url }, sessionId);
    await loaded;
    return new Tab(this, targetId, sessionId);
  }

  close() {
    this.ws.close();
    this.proc.kill();
  }
}

class Tab {
  constructor(cdp, targetId, sessionId) {
    Object.assign(this, { cdp, targetId, sessionId });
  }

  // Evaluates `expression` (awaiting a promise) and returns its value.
  async eval(expression) {
    const r = await this.cdp.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, this.sessionId);
    if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
    return r.result.value;
  }

  // Resolves once `condition` (an expression) is true, checked every 10 ms.
  waitFor(condition, ms = 600_000) {
    return this.eval(`new Promise((resolve, reject) => {
      const t0 = performance.now();
      const check = () => {
        if (${condition}) resolve(true);
        else if (performance.now() - t0 > ${ms}) reject(new Error('timed out: ' + ${JSON.stringify(condition)}));
        else setTimeout(check, 10);
      };
      check();
    })`);
  }

  async setInputFiles(selector, files) {
    const { root } = await this.cdp.send('DOM.getDocument', {}, this.sessionId);
    const { nodeId } = await this.cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector }, this.sessionId);
    await this.cdp.send('DOM.setFileInputFiles', { nodeId, files }, this.sessionId);
  }

  close() {
    return this.cdp.send('Target.closeTarget', { targetId: this.targetId });
  }
}
