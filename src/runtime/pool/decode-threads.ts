import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BatchExpectation, RejectKind, WorkerMessage } from '../../transport/protocol';

/** A message's bytes, to a decode thread. */
export interface DecodeRequest {
  id: number;
  payload: Uint8Array;
}

/** What a decode thread answers: the message, or why it was rejected, or (a bug) how decoding failed. */
export type DecodeReply = { id: number } & ({ msg: WorkerMessage } | { rejected: { kind: RejectKind; message: string } } | { failed: string });

/** What the learner gets back for a message it handed to `DecodeThreads.decode`. */
export type Decoded = { msg: WorkerMessage } | { rejected: { kind: RejectKind; message: string } } | { failed: string };

/**
 * Decoding and checking of worker messages off the learner's own thread (`workers.decodeThreads`):
 * a few `worker_threads`, each given the messages of a share of the peers (by identity, so
 * that one peer's messages are answered in the order they came), each answer handed to
 * `onDecoded` in the learner's event loop. What stays on the learner's thread per message:
 * reading it from the socket, one copy of its bytes, and taking the decoded message back
 * (its typed arrays moved, not copied).
 */
export class DecodeThreads {
  private readonly threads: Worker[];
  private readonly pending = new Map<number, Buffer>();
  private nextId = 0;
  private closed = false;

  constructor(
    count: number,
    expect: BatchExpectation,
    private readonly onDecoded: (identity: Buffer, decoded: Decoded) => void,
    onError: (err: Error) => void,
  ) {
    this.threads = Array.from({ length: count }, () => {
      const t = new Worker(path.join(__dirname, 'decode-thread.js'), { workerData: { expect } });
      t.on('message', (reply: DecodeReply) => this.answered(reply));
      t.on('error', (err) => this.closed || onError(err));
      t.unref(); // the pool's sockets and timers keep the process alive, not these
      return t;
    });
  }

  /** Hands the message of `identity` to its thread; its bytes are copied once (the socket's buffer stays). */
  decode(identity: Buffer, payload: Buffer): void {
    const id = this.nextId++;
    this.pending.set(id, identity);
    const copy = new Uint8Array(payload); // memory of its own, moved to the thread
    this.threads[shareOf(identity, this.threads.length)].postMessage({ id, payload: copy } satisfies DecodeRequest, [copy.buffer]);
  }

  /** Messages handed out and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  private answered(reply: DecodeReply): void {
    const identity = this.pending.get(reply.id);
    if (identity === undefined || this.closed) return;
    this.pending.delete(reply.id);
    this.onDecoded(identity, reply);
  }

  /** Stops the threads; answers still to come are dropped. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}

/** Which of `n` threads decodes the messages of the peer `identity`: the same one every time. */
function shareOf(identity: Buffer, n: number): number {
  let h = 0;
  for (const byte of identity) h = (h * 31 + byte) >>> 0;
  return h % n;
}
