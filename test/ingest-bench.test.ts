import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { ppo, ppoConfigSchema } from '../algorithms/ppo/ppo';
import { DEFAULT_POLICY, type ParamsById, type TrajectoryBatch } from '../core/algorithm';
import { makeEnv } from '../envs';
import { BatchStream, impersonate, type Welcome } from '../bench/ingest-load';
import { WorkerPool } from '../src/runtime/pool/worker-pool';
import { batchExpectation, decodeLearnerMessage, decodeWorkerMessage, encode, type WorkerSetup } from '../src/transport/protocol';
import { freePort } from './helpers/free-port';

const root = path.resolve(__dirname, '..', '..');
const params: ParamsById = { [DEFAULT_POLICY]: { weights: [{ name: 'w', shape: [1], data: new Float32Array(1) }], scalars: {} } };

/** PPO's policies for `envId` and the pool's batch expectation, derived as the learner's wiring does. */
function shapes(envId: string) {
  const env = makeEnv(envId);
  const spec = ppo.policySpec({ observationSpace: env.observationSpace.toSpec(), actionSpace: env.actionSpace.toSpec(), model: { hiddenSizes: [64, 64], activation: 'tanh', sharedLayers: false }, config: ppoConfigSchema.parse({}) });
  env.close();
  const policies = { [spec.policyId]: spec };
  return { policies, expectation: batchExpectation(policies) };
}

/** A welcome as a worker receives it: encoded by the learner's encoder and decoded by the worker's decoder. */
function welcome(envId: string, numEnvs: number, rolloutLength: number, workerId: number): Welcome {
  const setup: WorkerSetup = { policies: shapes(envId).policies, envId, envConfig: {}, numEnvs, rolloutLength, seed: 0, heartbeatSeconds: 1, slot: 0, numSlots: 1, pubEndpoint: 'ipc:///tmp/x', learnerDir: root, instance: 'bench', packageVersion: '0.1.0', code: null };
  const msg = decodeLearnerMessage(encode({ type: 'welcome', workerId, setup }));
  assert.equal(msg.type, 'welcome');
  return msg as Welcome;
}

describe('ingest bench load generator', () => {
  for (const [envId, numEnvs, rolloutLength, obsSize, actionCount] of [['CartPole-v1', 4, 128, 4, 2], ['LunarLander-v3', 8, 256, 8, 4]] as const) {
    it(`makes ${envId} batches that the learner's decoder accepts with the pool's expectation, seq counting up`, () => {
      const stream = new BatchStream(welcome(envId, numEnvs, rolloutLength, 7), 0);
      const seqs: number[] = [];
      for (let i = 0; i < 3; i++) {
        const msg = decodeWorkerMessage(stream.next(), shapes(envId).expectation);
        assert.equal(msg.type, 'batch');
        const b = (msg as { batch: TrajectoryBatch }).batch;
        assert.equal(b.workerId, 7);
        assert.equal(b.obs.length, numEnvs * rolloutLength * obsSize);
        assert.deepEqual(Object.keys(b.columns).sort(), ['logp', 'value']);
        assert.ok(b.actions.every((a) => Number.isInteger(a) && a >= 0 && a < actionCount));
        assert.ok(b.episodes.lengths.length > 0, 'some episodes end in the batch');
        seqs.push(b.seq);
      }
      assert.deepEqual(seqs, [2 ** 31, 2 ** 31 + 1, 2 ** 31 + 2]);
    });
  }

  it('feeds a real WorkerPool, which rejects none of its messages', async () => {
    const { policies } = shapes('CartPole-v1');
    const connect = `tcp://127.0.0.1:${await freePort()}`;
    const lines: string[] = [];
    const pool = await WorkerPool.start({
      setup: { policies, envId: 'CartPole-v1', envConfig: {}, numEnvs: 4, rolloutLength: 16, seed: 0, heartbeatSeconds: 1, learnerDir: root },
      numWorkers: 0, bind: connect, maxPolicyLag: 0, streaming: true, workerTimeoutSeconds: 10, maxWorkerRestarts: 0, heartbeatSeconds: 1,
      log: (l) => lines.push(l),
    });
    const stop = impersonate(connect, 3, 0);
    try {
      await pool.broadcast(params, 0);
      const batches: TrajectoryBatch[] = [];
      const ids = () => new Set(batches.map((b) => b.workerId)).size;
      const deadline = Date.now() + 10_000;
      while ((ids() < 3 || batches.length < 12) && Date.now() < deadline) batches.push(...(await pool.next()));
      assert.equal(ids(), 3, `all three sockets deliver (${batches.length} batches taken in; pool said: ${lines.join(' | ')})`);
      assert.equal(pool.stats().rejectedMessages, 0, lines.join('\n'));
      assert.equal(pool.stats().liveWorkers, 3);
    } finally {
      stop();
      await pool.close();
    }
  });
});
