import * as fs from 'node:fs';
import * as http from 'node:http';
import { isIP } from 'node:net';
import * as path from 'node:path';
import { bestCheckpoint, listCheckpoints, readMetadata } from '../checkpoint';
import { jsPolicyModule } from '../export/js';
import { renderFps } from '../record';
import { parse as parseYaml } from 'yaml';
import { ConfigError, EnvError } from '../../core/errors';
import { trustedSourceEnvId } from '../checkpoint/env-trust';
import { bundlePage, bundleSweepPage, pageDir, type PageBundle } from './bundle';
import { isSweepDir, sweepInfo } from './sweep-info';
import { fileInside } from './safe-path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.jsonl': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.gif': 'image/gif',
  '.mp4': 'video/mp4',
  '.png': 'image/png',
};

export interface ViewServer {
  url: string;
  close(): Promise<void>;
}

interface RunConfigLite {
  algorithm?: string;
  env?: { id?: string; config?: Record<string, unknown> };
}

/** The run's resolved config: config.yaml (written when training starts), else the latest checkpoint's; and which file that was. */
function runConfig(runDir: string): { cfg: RunConfigLite; source: string } {
  const file = path.join(runDir, 'config.yaml');
  try {
    return { cfg: (parseYaml(fs.readFileSync(file, 'utf8')) ?? {}) as RunConfigLite, source: file };
  } catch {
    const latest = listCheckpoints(runDir).at(-1);
    return latest ? { cfg: readMetadata(latest).config as RunConfigLite, source: latest } : { cfg: {}, source: file };
  }
}

/** What the page asks first: the run, its checkpoints and videos, and how to build its env. */
function runInfo(runDir: string, bundle: PageBundle) {
  // The periodic checkpoints, oldest first, then the best-evaluated one (checkpoint.best) as `best`.
  const best = bestCheckpoint(runDir);
  const checkpoints = [...listCheckpoints(runDir), ...(best ? [best] : [])].map((dir) => {
    const m = readMetadata(dir);
    return { name: dir === best ? 'best' : path.basename(dir), iteration: m.iteration, envSteps: m.envSteps, episodeReturnMean: m.episodeReturnMean, time: m.time, evaluation: m.evaluation };
  });
  const { cfg } = runConfig(runDir);
  const videosDir = path.join(runDir, 'videos');
  const videos = fs.existsSync(videosDir) ? fs.readdirSync(videosDir).filter((f) => /\.(gif|mp4)$/.test(f)).sort() : [];
  const envId = cfg.env?.id;
  return {
    name: path.basename(path.resolve(runDir)),
    algorithm: cfg.algorithm,
    envId,
    envConfig: cfg.env?.config ?? {},
    renderFps: envId ? renderFps(envId) : 30,
    checkpoints,
    videos,
    envProblem: bundle.envProblem,
  };
}

/**
 * `rl view`: a local HTTP server for one run dir. It serves the page (index.html, style.css,
 * app.js bundled by esbuild), `/api/run` (the run's checkpoints and env), `/api/policy/NAME.js`
 * (checkpoint NAME's greedy policy as a dependency-free ES module, `rl export --format js`),
 * and the run's own files under `/run/` (progress.jsonl, config.yaml, videos/...). Anything
 * else, and anything that would leave the run dir, is a 404. GET and HEAD only.
 *
 * Against DNS rebinding (a web page whose name is made to resolve to 127.0.0.1 reads the
 * run), it answers only requests whose `Host` is an address it listens on, with its port (see
 * `hostCheck`): anything else is a 421. A request with an `Origin` (a browser's cross-origin
 * fetch) must come from one of those addresses too, else 403. The first refusal of each kind
 * is logged (`log`, stderr by default).
 */
export async function startViewServer(opts: { runDir: string; port: number; host: string; envDirs?: readonly string[]; log?: (line: string) => void }): Promise<ViewServer> {
  const runDir = path.resolve(opts.runDir);
  // A sweep dir of `rl tune` (sweep.json) gets the sweep page: its trials' table and a parallel-coordinates plot.
  const sweep = isSweepDir(runDir);
  if (!sweep && !fs.existsSync(path.join(runDir, 'progress.jsonl')) && !fs.existsSync(path.join(runDir, 'config.yaml'))) {
    throw new ConfigError(`rl view ${opts.runDir}: not a run dir (it holds no progress.jsonl or config.yaml)`);
  }
  const { cfg, source } = sweep ? { cfg: {} as RunConfigLite, source: runDir } : runConfig(runDir);
  // The page runs the env in the browser: a module env is code, bundled only from an --env-dir (the trust rule of checkpoint/env-trust.ts).
  let envId = cfg.env?.id ?? '';
  let envRefused: string | undefined;
  try {
    envId = trustedSourceEnvId(envId, { source, command: 'rl view', envDirs: opts.envDirs ?? [], log: opts.log ?? (() => {}) });
  } catch (err) {
    if (!(err instanceof EnvError)) throw err;
    envRefused = err.message;
    opts.log?.(`warning: ${envRefused}; the page shows the run, but cannot play its env`);
  }
  const bundlePageOnce = async (): Promise<PageBundle> => (envRefused ? { ...(await bundlePage('')), envProblem: envRefused } : bundlePage(envId));
  let bundle: Promise<PageBundle> | undefined; // built on the first request for it, once
  let sweepJs: Promise<string> | undefined;
  const policies = new Map<string, { mtime: number; js: string }>();
  const assets = pageDir();

  const send = (res: http.ServerResponse, status: number, type: string, body: string | Buffer, head: boolean) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(head ? undefined : body);
  };
  const notFound = (res: http.ServerResponse) => send(res, 404, 'text/plain; charset=utf-8', 'not found\n', false);
  const sendFile = (res: http.ServerResponse, file: string, head: boolean) => send(res, 200, TYPES[path.extname(file)] ?? 'application/octet-stream', fs.readFileSync(file), head);

  const log = opts.log ?? ((line: string) => console.error(line));
  const logged = new Set<string>();
  const refuse = (res: http.ServerResponse, status: number, kind: string, value: string | undefined) => {
    if (!logged.has(kind)) {
      logged.add(kind);
      log(`rl view: refused a request with ${kind} ${JSON.stringify((value ?? '(none)').slice(0, 100))} (${status}): it answers only to ${check.names.join(', ')} (DNS rebinding guard); further refusals of this kind are not logged`);
    }
    send(res, status, 'text/plain; charset=utf-8', `refused: this server answers only to ${check.names.map((n) => `http://${n}/`).join(', ')}\n`, false);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (!check.host(req.headers.host)) return refuse(res, 421, 'Host', req.headers.host);
    if (req.headers.origin !== undefined && !check.origin(req.headers.origin)) return refuse(res, 403, 'Origin', req.headers.origin);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'GET only\n', false);
    const head = req.method === 'HEAD';
    const url = (req.url ?? '/').split('?')[0];
    if (sweep) {
      if (url === '/' || url === '/index.html') return sendFile(res, path.join(assets, 'sweep.html'), head);
      if (url === '/sweep.js') return send(res, 200, TYPES['.js'], await (sweepJs ??= bundleSweepPage()), head);
      if (url === '/api/sweep') return send(res, 200, TYPES['.json'], JSON.stringify(sweepInfo(runDir)), head);
      if (url !== '/style.css' && !url.startsWith('/run/')) return notFound(res);
    }
    if (url === '/' || url === '/index.html') return sendFile(res, path.join(assets, 'index.html'), head);
    if (url === '/style.css') return sendFile(res, path.join(assets, 'style.css'), head);
    if (url === '/app.js') {
      bundle ??= bundlePageOnce();
      return send(res, 200, TYPES['.js'], (await bundle).js, head);
    }
    if (url === '/api/run') {
      bundle ??= bundlePageOnce();
      return send(res, 200, TYPES['.json'], JSON.stringify(runInfo(runDir, await bundle)), head);
    }
    const policy = /^\/api\/policy\/(iter_\d+|best)\.js$/.exec(url);
    if (policy) {
      const dir = policy[1] === 'best' ? bestCheckpoint(runDir) : listCheckpoints(runDir).find((d) => path.basename(d) === policy[1]);
      if (!dir) return notFound(res);
      const mtime = fs.statSync(path.join(dir, 'metadata.json')).mtimeMs;
      let cached = policies.get(dir);
      if (!cached || cached.mtime !== mtime) policies.set(dir, (cached = { mtime, js: jsPolicyModule(dir) }));
      return send(res, 200, TYPES['.js'], cached.js, head);
    }
    if (url.startsWith('/run/')) {
      const file = fileInside(runDir, url.slice('/run/'.length));
      return file ? sendFile(res, file, head) : notFound(res);
    }
    return notFound(res);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${(err as Error).message}\n`, false);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new ConfigError(`rl view: port ${opts.port} on ${opts.host} is in use; pick another with --port`) : err),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address() as { port: number };
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  // Set before any request can arrive: `handle` runs from I/O callbacks, after this continuation.
  const check = hostCheck(shownHost, address.port);
  return {
    url: `http://${shownHost}:${address.port}/`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * Which `Host` headers (and `Origin`s) the server answers: `127.0.0.1`, `localhost`, `[::1]`
 * and the `--host` it was given, each with the port it listens on (a browser leaves out port
 * 80). Listening on every address (`0.0.0.0`, `::`), any IP address with that port passes too:
 * a page reached by address is not a rebound DNS name. Names are compared without case.
 */
export function hostCheck(shownHost: string, port: number): { names: string[]; host(h: string | undefined): boolean; origin(o: string): boolean } {
  const hosts = [...new Set(['127.0.0.1', 'localhost', '[::1]', shownHost.toLowerCase()])];
  const anyAddress = ['0.0.0.0', '[::]'].includes(shownHost);
  const host = (h: string | undefined): boolean => {
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec((h ?? '').toLowerCase());
    if (!m || Number(m[2] ?? 80) !== port) return false;
    return hosts.includes(m[1]) || (anyAddress && isIP(m[1].replace(/^\[(.*)\]$/, '$1')) !== 0);
  };
  return {
    names: hosts.map((n) => `${n}:${port}`),
    host,
    origin: (o) => {
      const m = /^http:\/\/([^/]+)$/.exec(o.toLowerCase());
      return m !== null && host(m[1]);
    },
  };
}
