import type * as zmq from 'zeromq';

type Frames = Parameters<zmq.Writable['send']>[0];

/**
 * zeromq.js allows one pending send per socket; this queues the rest, in order. A send that
 * fails (socket closed while a message waited) is dropped: the protocol tolerates lost
 * messages (heartbeats resend, sample requests are reissued).
 */
export class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  /** Sends queued or in progress. */
  pending = 0;

  constructor(private readonly socket: zmq.Writable & { closed: boolean }) {}

  send(frames: Frames): Promise<void> {
    this.pending += 1;
    this.tail = this.tail.then(async () => {
      try {
        if (!this.socket.closed) await this.socket.send(frames);
      } catch {
        // closed or shut down mid-send: nothing to deliver to
      } finally {
        this.pending -= 1;
      }
    });
    return this.tail;
  }
}
