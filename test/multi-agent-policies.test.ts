import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../core/errors';
import { readCheckpoint } from '../src/checkpoint';
import { evaluateCheckpoint } from '../src/commands';
import { validateConfig } from '../src/config/load';
import type { MatchReport } from '../src/evaluate-matches';
import { train } from '../src/runtime/learner';
import { policySeed } from '../src/runtime/multi-agent/wiring';

/** SpreadLine-v0 with a policy per agent (configs/ppo-spread-line-separate.yaml, small). */
const SEPARATE = {
  algorithm: 'ppo',
  env: { id: 'SpreadLine-v0' },
  seed: 5,
  model: { hiddenSizes: [16] },
  workers: { envsPerWorker: 4, rolloutLength: 16 },
  ppo: { numEpochs: 1, minibatchSize: 32 },
  multiAgent: { policies: { a: { train: true }, b: { train: true } }, mapping: { agent_0: 'a', agent_1: 'b' }, evaluate: ['team'] },
  evaluation: { every: 2, episodes: 4 },
  stop: { iterations: 3 },
};

const rows = (runDir: string) => fs.readFileSync(path.join(runDir, 'progress.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
const tensorNames = (checkpoint: string) => readCheckpoint(checkpoint).tensors.map((t) => t.name);

describe('Trained policies\' seeds', () => {
  it("gives one trained policy the run's seed, and several each a seed of their own from the run's seed and the id", () => {
    assert.equal(policySeed(7, 'main', 1), 7);
    const [a, b] = [policySeed(7, 'a', 2), policySeed(7, 'b', 2)];
    assert.ok(a !== b && a !== 7 && b !== 7, `${a}, ${b}`);
    assert.equal(policySeed(7, 'a', 3), a, 'the id decides, not how many policies train');
    assert.notEqual(policySeed(8, 'a', 2), a, 'the run seed decides too');
  });
});

describe('Several trained policies in one run', function () {
  this.timeout(120_000);
  let dir: string;
  let run: { runDir: string; checkpoint: string };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-ma-policies-'));
    const r = await train(SEPARATE, { runDir: path.join(dir, 'run'), log: () => {} });
    run = { runDir: r.runDir, checkpoint: r.checkpoint };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("logs each policy's training metrics under its id (a/policyLoss, b/policyLoss) and no unprefixed one", () => {
    const [first] = rows(run.runDir);
    for (const key of ['policyLoss', 'valueLoss', 'entropy', 'approxKl']) {
      assert.ok(Number.isFinite(first[`a/${key}`]) && Number.isFinite(first[`b/${key}`]), key);
      assert.equal(first[key], undefined, `${key} unprefixed`);
    }
    assert.notEqual(first['a/policyLoss'], first['b/policyLoss'], 'two networks, two losses');
  });

  it('counts both policies\' agent steps: 4 envs x 16 steps x 2 agents per iteration', () => {
    assert.deepEqual(rows(run.runDir).map((r) => r.envSteps), [128, 256, 384]);
  });

  it("evaluates each trained policy against `team` in its mapped seat only, under its own id", () => {
    const evaluated = rows(run.runDir).find((r) => r.iteration === 2)!;
    assert.ok(Number.isFinite(evaluated['a/returnMean/team/agent_0']) && Number.isFinite(evaluated['b/returnMean/team/agent_1']));
    assert.equal(evaluated['a/returnMean/team/agent_1'], undefined, 'a is not mapped to agent_1');
    assert.ok(evaluated['a/returnMean/team/agent_0'] < 0, 'SpreadLine pays distances: negative');
  });

  it('checkpoints each policy under weights/<id>/ and its optimizer under policies/<id>/', () => {
    const names = tensorNames(run.checkpoint);
    for (const id of ['a', 'b']) {
      assert.ok(names.some((n) => n.startsWith(`weights/${id}/`)), `weights/${id}/`);
      assert.ok(names.some((n) => n.startsWith(`policies/${id}/`)), `policies/${id}/`);
    }
    assert.ok(!names.some((n) => n.startsWith('weights/default/')), 'no policy default');
    const { tensors } = readCheckpoint(run.checkpoint);
    const first = (id: string) => tensors.find((t) => t.name.startsWith(`weights/${id}/`))!;
    assert.equal(first('a').name.slice('weights/a/'.length), first('b').name.slice('weights/b/'.length));
    assert.notDeepEqual(Array.from(first('a').data), Array.from(first('b').data), 'the two networks differ');
  });

  it('plays rl evaluate --policy b --opponent team as agent_1 beside a, the same games as --policy a plays as agent_0', async () => {
    const report = async (policy: string) => (await evaluateCheckpoint(run.checkpoint, { episodes: 20, seed: 3, stochastic: true, json: true, policy, opponents: ['team'] })) as MatchReport;
    const [a, b] = [await report('a'), await report('b')];
    assert.deepEqual([b.policy, Object.keys(b.matches[0].seats)], ['b', ['agent_1']]);
    assert.deepEqual(Object.keys(a.matches[0].seats), ['agent_0']);
    assert.equal(a.matches[0].seats.agent_0.games, 20);
    assert.equal(b.matches[0].seats.agent_1.returnMean, a.matches[0].seats.agent_0.returnMean, 'the same seeded games, a at agent_0 and b at agent_1 in both');
  });

  it('trains the same weights twice from the same seed, and resumes both policies from the checkpoint', async () => {
    const again = await train(SEPARATE, { runDir: path.join(dir, 'again'), log: () => {} });
    const bits = (c: string) => readCheckpoint(c).tensors.filter((t) => t.name.startsWith('weights/')).map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64'));
    assert.deepEqual(bits(again.checkpoint), bits(run.checkpoint));
    const resumed = await train({ ...SEPARATE, stop: { iterations: 4 } }, { runDir: path.join(dir, 'again'), resume: again.checkpoint, log: () => {} });
    assert.equal(resumed.iterations, 4);
    const last = rows(path.join(dir, 'again')).at(-1)!;
    assert.deepEqual([last.iteration, last.envSteps], [4, 512]);
  });

  it('refuses a league with two trained policies, a trained policy the mapping seats nowhere, and team with a league, naming the key', () => {
    const league = { ...SEPARATE, env: { id: 'ConnectFour-v0' }, multiAgent: { policies: { a: { train: true }, b: { train: true } }, league: {} } };
    assert.throws(() => validateConfig(league), (e: Error) => e instanceof ConfigError && /multiAgent\.league trains one policy against its snapshots, and policies has 2 with train: true \(a, b\)/.test(e.message));
    const idle = { ...SEPARATE, multiAgent: { ...SEPARATE.multiAgent, mapping: { agent_0: 'a', agent_1: 'a' } } };
    assert.throws(() => validateConfig(idle), /multiAgent\.policies\.b has train: true, and multiAgent\.mapping gives it no agent: it would train on nothing/);
    const team = { ...SEPARATE, env: { id: 'ConnectFour-v0' }, multiAgent: { policies: { a: { train: true } }, league: {}, evaluate: ['random', 'team'] } };
    assert.throws(() => validateConfig(team), /multiAgent\.evaluate\.1 \(team\) plays each agent by its mapped policy, and a league has no mapping/);
  });

});
