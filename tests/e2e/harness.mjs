// E2E harness: a loopback-only network namespace holding the ferrosoup server and headless Chromium.
//
// Layout, per test file (node --test runs each file in its own process):
//   netns fs-e2e-<pid>            only `lo`, up
//     ferrosoup --listen 127.0.0.1:<port> --rtc-ip 127.0.0.1 --rtc-port <rtcPort>
//     chromium (playwright-core, launched through a wrapper script doing `ip netns exec`)
//     bridge.mjs: a Unix socket -> 127.0.0.1:<port> forwarder, so this (host-namespace) node process can
//                 reach the server for /status and raw WebSocket tests (Unix sockets are not per-namespace).
//
// Environment:
//   FERROSOUP_BIN        server binary (default: <repo>/target/release/ferrosoup)
//   FERROSOUP_E2E_LOG    RUST_LOG for the server (default: "info")
//   CHROMIUM             browser binary (default: /usr/bin/chromium)
//   E2E_HEADFUL=1        no --headless (needs a display)

import * as nodeTest from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';

import { chromium } from 'playwright-core';
import WebSocket from 'ws';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, '..', '..');
export const ARTIFACTS_DIR = join(here, 'artifacts');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-gpu',
  '--autoplay-policy=no-user-gesture-required',
  // Several pages decode video at once; keep background pages running at full speed.
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
];

export function serverBinary() {
  const bin = process.env.FERROSOUP_BIN || 'target/release/ferrosoup';
  return isAbsolute(bin) ? bin : join(REPO_ROOT, bin);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every `interval` ms until it returns a truthy value; throws with the last value/error on timeout. */
export async function poll(fn, { timeout = 20000, interval = 500, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last) return last;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastErr ? `last error: ${lastErr.message}` : `last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (${detail})`);
    }
    await sleep(interval);
  }
}

// If this process dies without cleaning up (SIGKILL), the processes it started in the namespace die with it:
// `setpriv --pdeathsig KILL` (util-linux) arranges a signal on parent death and survives the exec.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const DEATHSIG = SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--'] : [];

function ip(...args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// ---------------------------------------------------------------------------------------------------------------------
// Cleanup registry: everything we create is torn down on normal completion, on test failure, and on signals.

const cleanups = [];
let exiting = false;

function runCleanupsSync() {
  while (cleanups.length) {
    const c = cleanups.pop();
    try {
      c.sync();
    } catch {
      // best effort
    }
  }
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (exiting) return;
    exiting = true;
    process.stderr.write(`\ne2e harness: ${sig}, cleaning up\n`);
    runCleanupsSync();
    process.exit(130);
  });
}
process.on('exit', runCleanupsSync);

function register(sync) {
  const entry = { sync };
  cleanups.push(entry);
  return () => {
    const i = cleanups.indexOf(entry);
    if (i !== -1) cleanups.splice(i, 1);
    sync();
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Network namespace

export function createNetns() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the e2e tests need root (they create a network namespace with `ip netns add`)');
  }
  const name = `fs-e2e-${process.pid}`;
  sweepStaleNamespaces();
  try {
    ip('netns', 'del', name);
  } catch {
    // did not exist
  }
  ip('netns', 'add', name);
  const destroy = register(() => {
    // Kill whatever still runs inside (only processes this harness started live there), then delete it.
    let pids = [];
    try {
      pids = ip('netns', 'pids', name).split(/\s+/).filter(Boolean).map(Number);
    } catch {
      // namespace already gone
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      ip('netns', 'del', name);
    } catch {
      // already gone
    }
  });
  ip('-n', name, 'link', 'set', 'lo', 'up');
  return { name, destroy };
}

/**
 * Namespaces of earlier runs whose test process is gone (killed before it could clean up): removed when empty,
 * otherwise reported with the command to clean them up (processes this run did not start are left alone).
 */
function sweepStaleNamespaces() {
  let list = '';
  try {
    list = ip('netns', 'list');
  } catch {
    return;
  }
  for (const m of list.matchAll(/^fs-e2e-(\d+)\b/gm)) {
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (err) {
      alive = err.code !== 'ESRCH';
    }
    if (alive) continue;
    let pids = '';
    try {
      pids = ip('netns', 'pids', m[0]).trim();
    } catch {
      continue;
    }
    if (pids === '') {
      // Nothing runs there any more: just remove the leftover namespace.
      try {
        ip('netns', 'del', m[0]);
      } catch {
        // someone else removed it
      }
    } else {
      process.stderr.write(
        `e2e harness: stale namespace ${m[0]} (its test process ${pid} is gone); remove it with:\n` +
          `  for p in $(ip netns pids ${m[0]}); do kill -9 $p; done; ip netns del ${m[0]}\n`,
      );
    }
  }
}

/** Spawns `cmd args` inside the namespace, collecting its stdout+stderr lines. */
export function spawnInNetns(ns, cmd, args, { env = process.env, label = cmd } = {}) {
  const child = spawn('ip', ['netns', 'exec', ns, ...DEATHSIG, cmd, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = [];
  const onData = (stream) => {
    let buf = '';
    child[stream].setEncoding('utf8');
    child[stream].on('data', (chunk) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        for (const w of [...waiters]) w(line);
        if (process.env.E2E_VERBOSE) process.stderr.write(`[${label}] ${line}\n`);
      }
    });
  };
  onData('stdout');
  onData('stderr');
  let exitInfo = null;
  const exited = new Promise((res) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      for (const w of [...waiters]) w(null);
      res(exitInfo);
    });
  });
  const unregister = register(() => {
    if (exitInfo === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  });

  return {
    child,
    lines,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    log: () => lines.join('\n'),
    /**
     * CPU seconds (user + system) the process has used so far, from /proc. `ip netns exec` and `setpriv` exec into
     * the command, so the child's pid is the command's.
     */
    cpuSeconds() {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      // Fields 14 and 15 of stat(5) (utime, stime), counted from the state (field 3), in clock ticks (USER_HZ: 100 on Linux).
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    /** Resolves with the first line (already seen or future) matching `re`. */
    waitForLine(re, timeout = 20000) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((res, rej) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          rej(new Error(`${label}: no line matching ${re} within ${timeout} ms; output:\n${lines.slice(-30).join('\n')}`));
        }, timeout);
        const w = (line) => {
          if (line === null) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(w), 1);
            rej(new Error(`${label} exited (${JSON.stringify(exitInfo)}) before printing ${re}; output:\n${lines.slice(-30).join('\n')}`));
          } else if (re.test(line)) {
            clearTimeout(timer);
            waiters.splice(waiters.indexOf(w), 1);
            res(line);
          }
        };
        waiters.push(w);
      });
    },
    async stop(timeout = 3000) {
      if (exitInfo === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => exitInfo === null && child.kill('SIGKILL'), timeout);
        await exited;
        clearTimeout(t);
      }
      unregister();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Bridge from this process to 127.0.0.1:<port> inside the namespace, over a Unix socket.

export async function startBridge(ns, port, dir) {
  const sockPath = join(dir, 'bridge.sock');
  const proc = spawnInNetns(ns, process.execPath, [join(here, 'bridge.mjs'), sockPath, '127.0.0.1', String(port)], {
    label: 'bridge',
  });
  await proc.waitForLine(/^bridge ready/, 10000);
  return { sockPath, proc };
}

export function httpGet(sockPath, path, timeout = 5000) {
  return new Promise((res, rej) => {
    const req = http.get({ socketPath: sockPath, path, headers: { host: '127.0.0.1' }, timeout }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c) => (body += c));
      r.on('end', () => res({ status: r.statusCode, headers: r.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on('error', rej);
  });
}

/**
 * A raw WebSocket client (through the bridge) with a message queue: `next()` returns the next message
 * (parsed JSON when it parses, else the raw string) or throws on timeout / close.
 */
export async function rawWs(sockPath, path = '/ws') {
  const ws = new WebSocket(`ws+unix://${sockPath}:${path}`, { headers: { host: '127.0.0.1' } });
  const queue = [];
  const waiters = [];
  let closed = null;
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? data : data.toString('utf8');
    let msg = text;
    if (!isBinary) {
      try {
        msg = JSON.parse(text);
      } catch {
        // keep raw text
      }
    }
    const w = waiters.shift();
    if (w) w.res(msg);
    else queue.push(msg);
  });
  ws.on('close', (code, reason) => {
    closed = { code, reason: reason.toString() };
    for (const w of waiters.splice(0)) w.rej(new Error(`WebSocket closed (${code} ${closed.reason})`));
  });
  await new Promise((res, rej) => {
    ws.once('open', res);
    ws.once('error', rej);
  });
  ws.on('error', () => {});
  return {
    ws,
    get closed() {
      return closed;
    },
    send(x) {
      ws.send(typeof x === 'string' || Buffer.isBuffer(x) ? x : JSON.stringify(x), {
        binary: Buffer.isBuffer(x),
      });
    },
    next(timeout = 5000) {
      if (queue.length) return Promise.resolve(queue.shift());
      if (closed) return Promise.reject(new Error(`WebSocket closed (${closed.code} ${closed.reason})`));
      return new Promise((res, rej) => {
        const w = {
          res: (m) => {
            clearTimeout(timer);
            res(m);
          },
          rej: (e) => {
            clearTimeout(timer);
            rej(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          rej(new Error(`no message within ${timeout} ms`));
        }, timeout);
        waiters.push(w);
      });
    },
    /** Sends a request and returns the next message (replies come in request order). */
    async call(x, timeout) {
      this.send(x);
      return this.next(timeout);
    },
    close() {
      ws.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Browser

export async function launchBrowser(ns, dir) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install -y --no-install-recommends chromium`);
  }
  // playwright-core spawns the executable itself, so hand it a wrapper that enters the namespace first.
  const wrapper = join(dir, 'chromium-in-netns.sh');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${DEATHSIG.join(' ')} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const browser = await chromium.launch({
    executablePath: wrapper,
    headless: !process.env.E2E_HEADFUL,
    args: CHROMIUM_ARGS,
    timeout: 60000,
  });
  return browser;
}

/** Opens a page in a fresh context and records its console output and errors. */
export async function openPage(browser, url, label) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const page = await context.newPage();
  const consoleLines = [];
  const pageErrors = [];
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => {
    pageErrors.push(String(e && e.stack ? e.stack : e));
    consoleLines.push(`[pageerror] ${e}`);
  });
  page.on('crash', () => consoleLines.push('[crash] page crashed'));
  page.on('response', (r) => {
    if (r.status() >= 400) consoleLines.push(`[http ${r.status()}] ${r.request().method()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => consoleLines.push(`[requestfailed] ${r.url()}: ${r.failure()?.errorText}`));
  await page.goto(url, { waitUntil: 'load', timeout: 20000 });
  return { label, url, context, page, consoleLines, pageErrors };
}

// ---------------------------------------------------------------------------------------------------------------------
// The whole environment

/**
 * Starts namespace + server + bridge (+ browser unless `browser: false`).
 * Returns helpers; call `stop()` in an `after` hook.
 */
export async function startEnv({ browser: wantBrowser = true, serverArgs = ['--workers', '1'] } = {}) {
  const bin = serverBinary();
  if (!existsSync(bin)) {
    throw new Error(`server binary ${bin} not found (build it with \`cargo build --release\`, or set FERROSOUP_BIN)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'fs-e2e-'));
  const removeDir = register(() => rmSync(dir, { recursive: true, force: true }));
  const ns = createNetns();
  // The namespace is ours alone, so fixed ports cannot collide with anything.
  const port = 18080;
  const rtcPort = 40000;

  const env = { ...process.env, NO_COLOR: '1', RUST_LOG: process.env.FERROSOUP_E2E_LOG || process.env.RUST_LOG || 'info' };
  const server = spawnInNetns(
    ns.name,
    bin,
    // One worker unless a suite asks for more: the impairment rules match the one media port.
    ['--listen', `127.0.0.1:${port}`, '--rtc-ip', '127.0.0.1', '--rtc-port', String(rtcPort), ...serverArgs],
    { env, label: 'server' },
  );
  const env_ = {
    ns: ns.name,
    dir,
    port,
    rtcPort,
    baseUrl: `http://127.0.0.1:${port}`,
    server,
    bridge: null,
    browser: null,
    pages: [],
    serverLog: () => server.log(),
    async status() {
      const r = await httpGet(this.bridge.sockPath, '/status');
      if (r.status !== 200) throw new Error(`/status: HTTP ${r.status}: ${r.body}`);
      return JSON.parse(r.body);
    },
    get: (path) => httpGet(env_.bridge.sockPath, path),
    ws: (path) => rawWs(env_.bridge.sockPath, path),
    async open(query, label) {
      const p = await openPage(this.browser, `${this.baseUrl}/?${new URLSearchParams(query)}`, label);
      this.pages.push(p);
      return p;
    },
    async closeAllPages() {
      for (const p of [...this.pages]) await this.closePage(p);
    },
    /** Best effort: waits until the server reports no rooms/peers/transports (after closing pages). */
    async waitIdle(timeout = 10000) {
      try {
        await poll(
          async () => {
            const st = await this.status();
            return st.rooms === 0 && st.peers === 0 && st.transports === 0 && st.producers === 0 && st.consumers === 0;
          },
          { timeout, what: 'idle server' },
        );
        return true;
      } catch {
        return false;
      }
    },
    async closePage(p) {
      await p.page.close().catch(() => {});
      await p.context.close().catch(() => {});
      const i = this.pages.indexOf(p);
      if (i !== -1) this.pages.splice(i, 1);
    },
    /** Saves screenshots, page console output and the server log to artifacts/<name>-*. */
    async saveArtifacts(name) {
      const safe = name.replace(/[^a-zA-Z0-9_.-]+/g, '_');
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      const written = [];
      const serverLogPath = join(ARTIFACTS_DIR, `${safe}-server.log`);
      writeFileSync(serverLogPath, server.log() + '\n');
      written.push(serverLogPath);
      for (const p of this.pages) {
        const base = join(ARTIFACTS_DIR, `${safe}-${p.label}`);
        try {
          await p.page.screenshot({ path: `${base}.png`, timeout: 5000 });
          written.push(`${base}.png`);
        } catch {
          // page gone
        }
        writeFileSync(`${base}-console.log`, `${p.url}\n${p.consoleLines.join('\n')}\n`);
        written.push(`${base}-console.log`);
      }
      return written;
    },
    /** Runs `fn`; on failure saves artifacts and rethrows with the server log tail appended. */
    async withArtifacts(name, fn) {
      try {
        return await fn();
      } catch (err) {
        let files = [];
        try {
          files = await this.saveArtifacts(name);
        } catch (e) {
          files = [`(saving artifacts failed: ${e.message})`];
        }
        const tail = server.lines.slice(-40).join('\n');
        const pageLogs = this.pages
          .map((p) => `--- ${p.label} console (last 15) ---\n${p.consoleLines.slice(-15).join('\n')}`)
          .join('\n');
        err.message += `\n--- artifacts ---\n${files.join('\n')}\n--- server log (last 40 lines) ---\n${tail}\n${pageLogs}`;
        throw err;
      }
    },
    async stop() {
      await this.closeAllPages();
      if (this.browser) await this.browser.close().catch(() => {});
      if (this.bridge) await this.bridge.proc.stop();
      await server.stop();
      ns.destroy();
      removeDir();
    },
  };

  try {
    await server.waitForLine(/listening on http:\/\//, 20000);
    env_.bridge = await startBridge(ns.name, port, dir);
    if (wantBrowser) env_.browser = await launchBrowser(ns.name, dir);
  } catch (err) {
    await env_.stop().catch(() => {});
    throw err;
  }
  return env_;
}

/**
 * The usual hooks of a test file's suite (call inside `describe`): one environment for all its tests, started before
 * them and stopped after, with pages closed and the server emptied between tests — so each test starts from an empty
 * server whatever the previous one did. `env` is set once the `before` hook ran.
 */
export function sharedEnv(options = {}) {
  const shared = { env: null };
  nodeTest.before(async () => {
    shared.env = await startEnv(options);
  });
  nodeTest.after(async () => {
    if (shared.env) await shared.env.stop();
  });
  nodeTest.afterEach(async () => {
    if (!shared.env) return;
    await shared.env.closeAllPages();
    await shared.env.waitIdle();
  });
  return shared;
}
