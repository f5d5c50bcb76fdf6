import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { DEFAULT_POLICY, type ParamsById, type PolicySpec, type Weights } from '../../core/algorithm';
import { ppo, ppoConfigSchema } from '../../algorithms/ppo/ppo';
import { makeEnv } from '../../envs';
import { selectBackend } from '../../src/backend';
import { generateKeys } from '../../src/transport/curve';
import { batchExpectation, decodeWorkerMessage, encode, type BatchExpectation, type LearnerMessage, type WorkerMessage, type WorkerSetup } from '../../src/transport/protocol';
import { PACKAGE_VERSION } from '../../src/version';
import { root } from './cli';
import { freePort } from './free-port';

/**
 * A fake learner for testing what a real `rl worker` does with what a learner may send: the
 * real protocol (`encode`) on a real ROUTER and PUB, over CURVE with a key pair of its own, to
 * worker child processes. `script` answers each worker message; anything else is sent by hand
 * (`send` to the last worker heard, `broadcast` on the PUB socket).
 */


/**
 * What the fake learner says, in a learner's terms: a welcome may name the weights of its run
 * (the protocol's welcome carries none: they answer the worker's next `weightsRequest`), and a
 * `weights` message carries the one policy's weights (sent as the protocol's params of policy `default`).
 */
export type FakeMessage =
  | Exclude<LearnerMessage, { type: 'welcome' | 'weights' }>
  | { type: 'welcome'; workerId: number; setup: WorkerSetup; weights?: Weights; policyVersion?: number }
  | { type: 'weights'; policyVersion: number; weights: Weights };

export type Reply = (m: FakeMessage) => void;

/** The protocol's message for `m`; a welcome's weights are kept for the next weights request. */
function wire(m: FakeMessage, keep: (w: { policyVersion: number; weights: Weights }) => void): LearnerMessage {
  if (m.type === 'welcome') {
    if (m.weights) keep({ policyVersion: m.policyVersion ?? 0, weights: m.weights });
    return { type: 'welcome', workerId: m.workerId, setup: m.setup };
  }
  if (m.type === 'weights') return { type: 'weights', policyVersion: m.policyVersion, params: { [DEFAULT_POLICY]: { weights: m.weights, scalars: {} } } };
  return m;
}

export class HostileLearner {
  /** Every worker message received, in order. */
  readonly received: WorkerMessage[] = [];
  /** How a batch is checked: set by `cartPoleRun` (no batch decodes before). */
  expectation: BatchExpectation = batchExpectation({});
  private last: Buffer | null = null;
  /** The weights a welcome named: the answer to the next weights request. */
  private welcomeWeights: { policyVersion: number; weights: Weights } | null = null;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly pubPort: number,
    private readonly router: zmq.Router,
    private readonly pub: zmq.Publisher,
    script: (msg: WorkerMessage, reply: Reply) => void,
  ) {
    void (async () => {
      for await (const [identity, payload] of router) {
        let msg: WorkerMessage;
        try {
          msg = decodeWorkerMessage(payload, this.expectation);
        } catch {
          continue;
        }
        this.last = identity;
        this.received.push(msg);
        const reply: Reply = (m) => void router.send([identity, encode(wire(m, (w) => (this.welcomeWeights = w)))]).catch(() => {});
        if (msg.type === 'weightsRequest' && this.welcomeWeights) {
          reply({ type: 'weights', ...this.welcomeWeights });
          this.welcomeWeights = null;
        }
        script(msg, reply);
      }
    })();
  }

  static async start(script: (msg: WorkerMessage, reply: Reply) => void = () => {}): Promise<HostileLearner> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-hostile-'));
    const keys = generateKeys(path.join(dir, 'learner'));
    generateKeys(path.join(dir, 'worker'));
    const curve = { curveServer: true, curveSecretKey: keys.secretKey, curvePublicKey: keys.publicKey };
    const port = await freePort();
    const router = new zmq.Router({ linger: 0, ...curve });
    await router.bind(`tcp://127.0.0.1:${port}`);
    const pub = new zmq.Publisher({ linger: 0, ...curve });
    await pub.bind(`tcp://127.0.0.1:${port + 1}`);
    return new HostileLearner(dir, port, port + 1, router, pub, script);
  }

  /** `rl worker`'s arguments to reach this learner over CURVE. */
  workerArgs(extra: string[] = []): string[] {
    return ['--connect', `tcp://127.0.0.1:${this.port}`, '--keys', path.join(this.dir, 'worker'), '--learner-key', path.join(this.dir, 'learner', 'public.key'), ...extra];
  }

  /** Sends to the worker last heard from. */
  send(m: FakeMessage): void {
    if (!this.last) throw new Error('hostile learner: no worker has spoken yet');
    void this.router.send([this.last, encode(wire(m, (w) => (this.welcomeWeights = w)))]).catch(() => {});
  }

  broadcast(m: FakeMessage): void {
    void this.pub.send(encode(wire(m, () => {}))).catch(() => {});
  }

  /** The first message received (from now back to the start) that `match` accepts, or a rejection after `ms`. */
  async waitFor<T extends WorkerMessage['type']>(type: T, match: (m: Extract<WorkerMessage, { type: T }>) => boolean = () => true, ms = 20_000): Promise<Extract<WorkerMessage, { type: T }>> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const m = this.received.find((r): r is Extract<WorkerMessage, { type: T }> => r.type === type && match(r as Extract<WorkerMessage, { type: T }>));
      if (m) return m;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`hostile learner: no '${type}' message within ${ms} ms; received ${this.received.map((r) => r.type).join(', ')}`);
  }

  close(): void {
    this.router.close();
    this.pub.close();
  }
}

/** A CartPole PPO policy of hidden layers `hiddenSizes` (2 envs x 4 steps, seed 0, cpu): its specs as a learner declares them, and its initial params. */
export async function cartPolePolicy(hiddenSizes: number[]): Promise<{ policies: Record<string, PolicySpec>; params: ParamsById }> {
  await selectBackend('cpu');
  const env = makeEnv('CartPole-v1');
  const algo = ppo.create({
    config: ppoConfigSchema.parse({}),
    model: { hiddenSizes, activation: 'tanh', sharedLayers: false },
    observationSpace: env.observationSpace.toSpec(),
    actionSpace: env.actionSpace.toSpec(),
    seed: 0,
    totalEnvs: 2,
    rolloutLength: 4,
  });
  const policies = algo.policySpecs();
  const params = algo.getParams();
  algo.dispose();
  return { policies, params };
}

/** A CartPole PPO policy of hidden layers `hiddenSizes` as a learner describes it to its workers, and its initial weights. */
export async function cartPoleRun(learner: HostileLearner, patch: Partial<WorkerSetup> = {}, hiddenSizes = [32, 32]): Promise<{ setup: WorkerSetup; weights: Weights }> {
  const { policies, params } = await cartPolePolicy(hiddenSizes);
  const weights = params[DEFAULT_POLICY].weights;
  learner.expectation = batchExpectation(policies);
  const setup: WorkerSetup = {
    policies, envId: 'CartPole-v1', envConfig: {}, numEnvs: 2, rolloutLength: 4, seed: 0, heartbeatSeconds: 0.25, slot: 0, numSlots: 1,
    pubEndpoint: `tcp://127.0.0.1:${learner.pubPort}`, learnerDir: root, instance: 'hostile', packageVersion: PACKAGE_VERSION, code: null, ...patch,
  };
  return { setup, weights };
}

/** `weights` with tensor `name` replaced: another shape, or other values. */
export function withTensor(weights: Weights, name: string, shape: number[], fill: (i: number) => number): Weights {
  if (!weights.some((w) => w.name === name)) throw new Error(`no tensor ${name}`);
  const size = shape.reduce((a, b) => a * b, 1);
  return weights.map((w) => (w.name === name ? { name, shape, data: Float32Array.from({ length: size }, (_, i) => fill(i)) } : w));
}
