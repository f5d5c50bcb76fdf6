/** Benchmarks of the distributed runtime: worker sampling throughput, the transport, weight broadcast. */
import * as zmq from 'zeromq';
import { ppo, ppoConfigSchema } from '../algorithms/ppo/ppo';
import { makeEnv } from '../envs';
import { selectBackend } from '../src/backend';
import { RolloutWorker } from '../src/runtime/rollout-worker';
import { batchExpectation, decodeLearnerMessage, decodeWorkerMessage, encode } from '../src/transport/protocol';
import { DEFAULT_POLICY } from '../core/algorithm';
import { WorkerPool } from '../src/runtime/pool/worker-pool';
import { median } from './bench-json';

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

function cartpoleAlgo(hiddenSizes = [64, 64]) {
  const env = makeEnv('CartPole-v1');
  return ppo.create({
    config: ppoConfigSchema.parse({}),
    model: { hiddenSizes, activation: 'tanh', sharedLayers: false },
    observationSpace: env.observationSpace.toSpec(),
    actionSpace: env.actionSpace.toSpec(),
    seed: 0,
    totalEnvs: 1,
    rolloutLength: 1,
  });
}

export async function workerThroughput(): Promise<void> {
  await selectBackend('auto');
  console.log('\n== rollout workers: CartPole env steps/s with inference, learner-side (median of 5 collects) ==');
  const algo = cartpoleAlgo();
  const policies = algo.policySpecs();
  for (const numWorkers of [1, 2]) {
    for (const envs of [1, 8, 64]) {
      const rolloutLength = Math.max(32, Math.round(4096 / envs));
      const pool = await WorkerPool.start({
        setup: { policies, envId: 'CartPole-v1', envConfig: {}, numEnvs: envs, rolloutLength, seed: 0, heartbeatSeconds: 1, learnerDir: process.cwd() },
        numWorkers,
        maxPolicyLag: 0,
        workerTimeoutSeconds: 10,
        maxWorkerRestarts: 0,
        heartbeatSeconds: 1,
        log: () => {},
      });
      await pool.broadcast(algo.getParams(), 0);
      const perBatch = envs * rolloutLength;
      await pool.collect(perBatch * numWorkers); // warm-up: workers join, build, first batch
      const rates: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        const batches = await pool.collect(perBatch * numWorkers * 2);
        rates.push(batches.reduce((s, b) => s + b.numEnvs * b.length, 0) / ((performance.now() - t) / 1000));
      }
      await pool.close();
      console.log(`${numWorkers} worker(s) x ${String(envs).padStart(2)} envs: ${fmt(median(rates)).padStart(8)} steps/s`);
    }
  }
  algo.dispose();
}

export async function transport(): Promise<void> {
  await selectBackend('auto');
  console.log('\n== transport: batches into the learner (ROUTER, ipc, decoded and validated) ==');
  const algo = cartpoleAlgo();
  const spec = algo.policySpecs()[DEFAULT_POLICY];
  const worker = new RolloutWorker({ workerId: 0, envId: 'CartPole-v1', envConfig: {}, numEnvs: 64, rolloutLength: 128, seed: 0, policy: ppo.createPolicy(spec), spec });
  worker.setParams(algo.getParams()[DEFAULT_POLICY], 0);
  const frames = Array.from({ length: 20 }, () => encode({ type: 'batch', workerId: 0, instance: 'bench', batch: worker.sample() }));
  worker.close();
  const expectation = batchExpectation(algo.policySpecs());
  const bytes = frames[0].length;
  // Decoding alone, then through a socket (a DEALER sends, the ROUTER receives and decodes); medians of 5.
  const decodeRates: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const t = performance.now();
    for (const f of frames) decodeWorkerMessage(f, expectation);
    decodeRates.push((bytes * frames.length) / 1e6 / ((performance.now() - t) / 1000));
  }
  const decodeMBs = median(decodeRates);
  const endpoint = `ipc:///tmp/rl-bench-${process.pid}`;
  const router = new zmq.Router({ linger: 0 });
  const dealer = new zmq.Dealer({ linger: 0 });
  await router.bind(endpoint);
  dealer.connect(endpoint);
  const n = 200;
  const socketRates: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const received = (async () => {
      let k = 0;
      for await (const [, payload] of router) {
        decodeWorkerMessage(payload, expectation);
        if (++k === n) break;
      }
    })();
    const t = performance.now();
    for (let i = 0; i < n; i++) await dealer.send(frames[i % frames.length]);
    await received;
    socketRates.push((bytes * n) / 1e6 / ((performance.now() - t) / 1000));
  }
  const socketMBs = median(socketRates);
  console.log(`batch of 64 envs x 128 steps: ${(bytes / 1e6).toFixed(2)} MB; decode + validate ${fmt(decodeMBs)} MB/s; through the socket and decoded ${fmt(socketMBs)} MB/s (${fmt((socketMBs * 1e6) / bytes * 64 * 128)} env steps/s)`);

  console.log('\n== weight broadcast latency (PUB -> SUB over ipc, encode to decoded; median of 20) ==');
  const pub = new zmq.Publisher({ linger: 0 });
  const sub = new zmq.Subscriber({ linger: 0 });
  await pub.bind(`${endpoint}-pub`);
  sub.connect(`${endpoint}-pub`);
  sub.subscribe();
  await new Promise((r) => setTimeout(r, 300)); // let the subscription through
  for (const [label, hidden] of [['CartPole net [64, 64]', [64, 64]], ['~1M-parameter net [700, 700]', [700, 700]]] as const) {
    const net = cartpoleAlgo([...hidden]);
    const byId = net.getParams();
    const params = byId[DEFAULT_POLICY].weights.reduce((s, w) => s + w.data.length, 0);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      await pub.send(encode({ type: 'weights', policyVersion: i, params: byId }));
      const [payload] = await sub.receive();
      decodeLearnerMessage(payload);
      times.push(performance.now() - start);
    }
    net.dispose();
    console.log(`${label}, ${fmt(params)} parameters: ${median(times).toFixed(2)} ms`);
  }
  router.close();
  dealer.close();
  pub.close();
  sub.close();
  algo.dispose();
}
