/**
 * The `ingest` bench's load generator: DEALER sockets that pass for rollout workers. Each says
 * hello, takes its welcome, and answers every sample request at once with a batch of the shape
 * the welcome's setup describes (numEnvs x rolloutLength, the spaces, the columns and state its
 * policy spec declares),
 * pre-encoded once per socket; only its `seq` is written into a copy before each send. No env
 * steps, no inference: what reaches the learner is all there is to measure.
 */
import * as os from 'node:os';
import * as zmq from 'zeromq';
import { ACTION_MASK, batchColumns, DEFAULT_POLICY, perEnv, type Column, type ColumnSpec, type TrajectoryBatch } from '../core/algorithm';
import { Rng } from '../core/rng';
import type { SpaceSpec } from '../core/spaces';
import { decodeLearnerMessage, DEFAULT_MAX_MESSAGE_BYTES, encode, type LearnerMessage, type WorkerSetup } from '../src/transport/protocol';
import { SendQueue } from '../src/transport/send-queue';

export type Welcome = Extract<LearnerMessage, { type: 'welcome' }>;

/**
 * The first `seq`: 2^31, so that MessagePack writes every seq up to 2^32 - 1 as a uint32
 * (0xce and 4 bytes), and a copy of the template takes the next one in place.
 */
const SEQ_BASE = 2 ** 31;

const spaceSize = (s: SpaceSpec) => (s.type === 'Box' ? s.shape.reduce((a, d) => a * d, 1) : 1);

/**
 * A batch of the setup's `default` policy shaped as `setup` asks, with plausible values (about
 * one episode end in 50 steps, a few of them truncations; every action legal, masks all ones).
 */
export function syntheticBatch(workerId: number, setup: WorkerSetup, seq: number, rng: Rng): TrajectoryBatch {
  const { numEnvs, rolloutLength: length } = setup;
  const spec = setup.policies[DEFAULT_POLICY];
  if (!spec) throw new Error(`ingest bench: the setup has no policy '${DEFAULT_POLICY}' (it has ${Object.keys(setup.policies).join(', ')})`);
  const { observationSpace, actionSpace } = spec;
  const rows = numEnvs * length;
  const obsSize = spaceSize(observationSpace);
  const normals = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  // Observations in the space's element type: bytes for a uint8 Box (pictures).
  const observations = (n: number) => (observationSpace.type === 'Box' && observationSpace.dtype === 'uint8' ? Uint8Array.from({ length: n }, () => rng.int(256)) : normals(n));
  const column = (c: ColumnSpec): Column => {
    const n = rows * perEnv(c.shape);
    if (c.name === ACTION_MASK) return new Uint8Array(n).fill(1);
    return c.dtype === 'float32' ? normals(n) : c.dtype === 'int32' ? Int32Array.from({ length: n }, () => rng.int(100)) : Uint8Array.from({ length: n }, () => rng.int(2));
  };
  const terminated = new Uint8Array(rows);
  const truncated = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const u = rng.random();
    if (u < 0.018) terminated[i] = 1;
    else if (u < 0.02) truncated[i] = 1;
  }
  const index = Int32Array.from([...truncated.keys()].filter((i) => truncated[i] === 1));
  const ended = terminated.reduce((s, t) => s + t, 0) + index.length;
  return {
    workerId, seq, policyId: spec.policyId, policyVersion: 0, numEnvs, length,
    obs: observations(rows * obsSize),
    actions: actionSpace.type === 'Discrete' ? Float32Array.from({ length: rows }, () => rng.int(actionSpace.n)) : normals(rows * spaceSize(actionSpace)),
    rewards: normals(rows),
    terminated,
    truncated,
    columns: Object.fromEntries(batchColumns(spec).map((c) => [c.name, column(c)])),
    state: Object.fromEntries(spec.state.map((st) => [st.name, normals(numEnvs * st.size)])),
    nextObs: observations(numEnvs * obsSize),
    finalObs: { index, obs: observations(index.length * obsSize) },
    nextMasks: spec.actionMask && actionSpace.type === 'Discrete' ? { next: new Uint8Array(numEnvs * actionSpace.n).fill(1), final: new Uint8Array(index.length * actionSpace.n).fill(1) } : null,
    episodes: { returns: normals(ended), lengths: Int32Array.from({ length: ended }, () => 1 + rng.int(500)) },
  };
}

/**
 * The one place a batch message is built, from the welcome that the socket was given: a field
 * the learner expects echoed (from `welcome.setup` or the welcome itself) is added here.
 */
export function batchMessage(welcome: Welcome, batch: TrajectoryBatch): Buffer {
  return encode({ type: 'batch', workerId: welcome.workerId, instance: welcome.setup.instance, batch });
}

/** One socket's batches: the same pre-encoded message each time, with `seq` counting up from 2^31. */
export class BatchStream {
  private readonly template: Buffer;
  private readonly seqAt: number;
  private seq = SEQ_BASE;

  constructor(welcome: Welcome, seed: number) {
    this.template = batchMessage(welcome, syntheticBatch(welcome.workerId, welcome.setup, SEQ_BASE, new Rng(seed)));
    // fixstr "seq", then uint32 2^31: where the batch's seq sits (found once; it must be unique).
    const key = Buffer.from([0xa3, 0x73, 0x65, 0x71, 0xce, 0x80, 0, 0, 0]);
    const at = this.template.indexOf(key);
    if (at < 0 || this.template.indexOf(key, at + 1) >= 0) throw new Error(`ingest bench: the batch's seq is not where expected in its ${this.template.length}-byte message (found at ${at})`);
    this.seqAt = at + 5;
  }

  get bytes(): number {
    return this.template.length;
  }

  /** The next batch message, a copy (a message still queued is never written to). */
  next(): Buffer {
    const buf = Buffer.from(this.template);
    buf.writeUInt32BE(this.seq++, this.seqAt);
    return buf;
  }
}

/**
 * Opens `sockets` DEALERs to the learner at `connect`, each an impersonated worker (seeded
 * `seed + i`); returns a function that closes them. A message that does not decode is a bug
 * of the bench: it throws.
 */
export function impersonate(connect: string, sockets: number, seed: number): () => void {
  const dealers = Array.from({ length: sockets }, (_, i) => {
    const dealer = new zmq.Dealer({ linger: 0, maxMessageSize: 2 * DEFAULT_MAX_MESSAGE_BYTES });
    dealer.connect(connect);
    const out = new SendQueue(dealer);
    void out.send(encode({ type: 'hello', host: `${os.hostname()}-ingest-${i}`, pid: process.pid, numEnvs: null, slot: null }));
    void (async () => {
      let stream: BatchStream | null = null;
      try {
        for await (const [payload] of dealer) {
          const msg = decodeLearnerMessage(payload);
          if (msg.type === 'welcome') stream = new BatchStream(msg, seed + i);
          else if (msg.type === 'sample' && stream) void out.send(stream.next());
          // heartbeats and broadcast weights need no answer
        }
      } catch (err) {
        if (!dealer.closed) throw err; // closed mid-receive: the end, not an error
      }
    })();
    return dealer;
  });
  return () => dealers.forEach((d) => d.close());
}
