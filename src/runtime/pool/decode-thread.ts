/**
 * A decode thread of the learner (`DecodeThreads`): worker messages in, as bytes; each decoded
 * and checked (`decodeWorkerMessage`) against the run's batch expectation, out again as the
 * message, or as the rejection's kind and text. A message's typed arrays travel back without a
 * copy where their memory is the message's own.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { decodeWorkerMessage, MessageRejected, type BatchExpectation } from '../../transport/protocol';
import type { DecodeReply, DecodeRequest } from './decode-threads';

const expect = (workerData as { expect: BatchExpectation }).expect;
const port = parentPort!;

port.on('message', ({ id, payload }: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    reply = { id, msg: decodeWorkerMessage(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), expect) };
  } catch (err) {
    reply = err instanceof MessageRejected ? { id, rejected: { kind: err.kind, message: err.message } } : { id, failed: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply, 'msg' in reply ? ownBuffers(reply.msg, payload.buffer) : []);
});

/** The memory of the message's typed arrays that may be moved rather than copied: the request's own bytes, or a typed array's own buffer. */
function ownBuffers(value: unknown, mine: ArrayBufferLike, found = new Set<ArrayBuffer>()): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    const b = value.buffer;
    if (b instanceof ArrayBuffer && (b === mine || b.byteLength === value.byteLength)) found.add(b);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) ownBuffers(v, mine, found);
  }
  return [...found];
}
