/**
 * The unit suite's guard, loaded first by `npm run test:unit` (and by `npm test` for the unit
 * group): a test in that suite runs in this process only. Starting a process (node, a shell, a
 * browser, `ip netns`), listening on or connecting to a socket, or binding a ZeroMQ socket to
 * anything but inproc:// throws, naming what was tried and where such a test belongs. It catches
 * what an import check cannot: `train()` with workers, a helper that spawns, a view server.
 *
 * One exception: esbuild's own binary, which bundles env code and the view's page and which
 * esbuild's JS API runs as a service over stdio (no test waits on it as a process).
 */
import childProcess = require('node:child_process');
import net = require('node:net');
import zmq = require('zeromq');

const WHERE = 'the unit suite runs in-process: list the test file under "integration" in test/suites.json';

function refuse(what: string): never {
  throw new Error(`${what}: ${WHERE}`);
}

/** esbuild's service binary (node_modules/@esbuild/<platform>/bin/esbuild, or esbuild/bin/esbuild). */
const isEsbuild = (command: unknown) => typeof command === 'string' && /[\\/]esbuild[\\/]?.*[\\/]bin[\\/]esbuild(\.exe)?$|[\\/]@esbuild[\\/][^\\/]+[\\/]bin[\\/]esbuild(\.exe)?$/.test(command);

const cp = childProcess as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  const original = cp[name];
  cp[name] = (...args: unknown[]) => (isEsbuild(args[0]) ? original(...args) : refuse(`child_process.${name}(${JSON.stringify(String(args[0]))})`));
}

net.Server.prototype.listen = function () {
  refuse('net.Server.listen (an HTTP or TCP server)');
};
net.Socket.prototype.connect = function (...args: unknown[]) {
  refuse(`net.Socket.connect(${JSON.stringify(args[0])})`);
};

// The native Socket's methods are read-only; each socket class of the JS API gets its own in front of them.
const socketClasses = Object.values(zmq).filter((c): c is typeof zmq.Socket => typeof c === 'function' && c.prototype instanceof zmq.Socket);
for (const socketClass of socketClasses) {
  for (const method of ['bind', 'bindSync', 'connect'] as const) {
    const original = zmq.Socket.prototype[method] as (this: zmq.Socket, endpoint: string) => unknown;
    Object.defineProperty(socketClass.prototype, method, {
      value(this: zmq.Socket, endpoint: string) {
        return endpoint.startsWith('inproc://') ? original.call(this, endpoint) : refuse(`a ZeroMQ ${socketClass.name} socket's ${method}(${endpoint})`);
      },
    });
  }
}
