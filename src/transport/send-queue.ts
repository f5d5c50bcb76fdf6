import type * as zmq from 'zeromq';

type Frames = Parameters<zmq.Writable['send']>[0];

/**
 * zeromq.js allows one pending send per socket; this queues the rest, in order. A send that
 * fails (socket closed while a message waited) is dropped: the protocol tolerates lost
 * messages (heartbeats resend, sample requests are reissued).
 */
export class SendQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly socket: zmq.Writable & { closed: boolean }) {}

  send(frames: Frames): Promise<void> {
    this.tail = this.tail.then(async () => {
      if (this.socket.closed) return;
      try {
        await this.socket.send(frames);
      } catch {
        // closed or shut down mid-send: nothing to deliver to
      }
    });
    return this.tail;
  }
}
