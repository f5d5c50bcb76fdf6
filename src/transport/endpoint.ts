import { RlError } from '../../core/errors';

/** `tcp://HOST:PORT` split into its parts (PORT may be `*` for "any"); undefined for ipc and the like. */
export function parseTcpEndpoint(endpoint: string): { host: string; port: string } | undefined {
  const m = /^tcp:\/\/(.+):(\d+|\*)$/.exec(endpoint);
  return m ? { host: m[1], port: m[2] } : undefined;
}

/**
 * Why `endpoint` cannot be a learner's `--bind`, or undefined if it can: tcp://HOST:PORT
 * (or PORT `*`), with PORT from 1 to 65534, since the weights go out on PORT + 1.
 */
export function bindProblem(endpoint: string): string | undefined {
  const tcp = parseTcpEndpoint(endpoint);
  if (!tcp) return `--bind ${endpoint}: expected tcp://HOST:PORT, e.g. tcp://0.0.0.0:5555`;
  if (tcp.port === '*') return undefined;
  const port = Number(tcp.port);
  if (port < 1 || port > 65534) return `--bind ${endpoint}: the port (${port}) must be from 1 to 65534 (the weights go out on port + 1)`;
  return undefined;
}

/**
 * Why `endpoint` cannot be a worker's `--connect`, or undefined if it can:
 * tcp://HOST:PORT with PORT from 1 to 65535, or ipc://PATH.
 */
export function connectProblem(endpoint: string): string | undefined {
  if (/^ipc:\/\/.+/.test(endpoint)) return undefined;
  const tcp = parseTcpEndpoint(endpoint);
  if (!tcp || tcp.port === '*') return `--connect ${endpoint}: expected the learner's address, tcp://HOST:PORT (its --bind), or ipc://PATH`;
  const port = Number(tcp.port);
  if (port < 1 || port > 65535) return `--connect ${endpoint}: the port (${port}) must be from 1 to 65535`;
  return undefined;
}

/** How long a bind keeps trying an address in use: ZeroMQ closes a socket in its I/O thread, a moment after `close()`. */
const BIND_RETRY_MS = 2000;

/**
 * Binds `socket` to `endpoint`, turning ZeroMQ's error (an object dump such as
 * `[Error: Address already in use] { errno: 98, code: 'EADDRINUSE', address: ... }`) into
 * one line that says which address and why: `bindOrExplain(this.router, this.opts.bind)`.
 * An address in use is tried again for up to 2 s (`retryMs`) first: a learner started right
 * after another one on the same port (in one process, or a supervisor's restart) finds the old
 * socket still closing.
 */
export async function bindOrExplain(socket: { bind(endpoint: string): Promise<void> }, endpoint: string, what = '--bind', retryMs = BIND_RETRY_MS): Promise<void> {
  const end = Date.now() + retryMs;
  for (;;) {
    try {
      await socket.bind(endpoint);
      return;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === 'EADDRINUSE' && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const why =
        e.code === 'EADDRINUSE' ? 'the address is in use (another learner, or a program on that port?)'
        : e.code === 'EADDRNOTAVAIL' ? 'no network interface of this machine has that address'
        : e.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
        : `${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}`;
      throw new RlError(`${what} ${endpoint}: cannot listen there: ${why}`);
    }
  }
}
