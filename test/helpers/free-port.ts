import * as net from 'node:net';

/** A free loopback port whose neighbour (a learner's PUB socket takes port + 1) is free too, as far as one can tell. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const next = await new Promise<boolean>((resolve) => {
      const srv = net.createServer().once('error', () => resolve(false)).listen(port + 1, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (next && port < 65000) return port;
  }
}
