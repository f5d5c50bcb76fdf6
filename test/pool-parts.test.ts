import { strict as assert } from 'node:assert';
import { HelloGate, WeightsAnswers } from '../src/runtime/pool/hello-gate';
import { Liveness } from '../src/runtime/pool/liveness';
import { Membership, type Hello, type Member } from '../src/runtime/pool/membership';
import { PeerLines, peerText } from '../src/runtime/pool/peer-text';

const id = (n: number) => Buffer.from([n]);
const remote = (host = 'box'): Hello => ({ host, pid: 99, numEnvs: null, slot: null });

describe('Worker pool membership', () => {
  it('gives a restarted slot a fresh id and keeps its slot, so its exploration rate follows the slot (slot 1 of 2 stays slot 1)', () => {
    const m = new Membership(2);
    const procs = [{ pid: 10, restarts: 0 }, { pid: 11, restarts: 0 }];
    const spawned = (slot: number) => procs[slot] ?? null;
    const w0 = m.join(id(0), { host: 'h', pid: 10, numEnvs: null, slot: 0 }, 0, 4, spawned);
    const w1 = m.join(id(1), { host: 'h', pid: 11, numEnvs: null, slot: 1 }, 0, 4, spawned);
    assert.deepEqual([w0.id, w0.slot, w1.id, w1.slot, m.numSlots], [0, 0, 1, 1, 2]);
    m.drop(w1.key);
    procs[1] = { pid: 12, restarts: 1 };
    const again = m.join(id(2), { host: 'h', pid: 12, numEnvs: null, slot: 1 }, 0, 4, spawned);
    assert.deepEqual([again.id, again.slot, again.processSlot], [2, 1, 1]);
  });

  it("treats a hello that claims a slot with another process's pid as a remote worker", () => {
    const m = new Membership(2);
    const w = m.join(id(0), { host: 'h', pid: 666, numEnvs: null, slot: 0 }, 0, 4, () => ({ pid: 10, restarts: 0 }));
    assert.deepEqual([w.id, w.processSlot], [2, null]);
  });

  it('gives a remote worker the slot fewest live workers hold, the lowest of those', () => {
    const m = new Membership(2);
    const spawned = (slot: number) => ({ pid: 10 + slot, restarts: 0 });
    m.join(id(0), { host: 'h', pid: 10, numEnvs: null, slot: 0 }, 0, 4, spawned);
    assert.equal(m.join(id(1), remote(), 0, 4, spawned).slot, 1);
    assert.equal(m.join(id(2), remote(), 0, 4, spawned).slot, 0);
    assert.equal(new Membership(0).join(id(3), remote(), 0, 4, () => null).slot, 0); // remote workers only: slot 0 of 1
  });

  it("shows a hello's host escaped and bounded in the worker's name", () => {
    const w = new Membership(0).join(id(0), remote('evil\x1b[2K\rdone: fake line\n'), 0, 3, () => null);
    assert.equal(w.name, 'worker 0 (evil\\x1b[2K\\x0ddone: fake line\\x0a pid 99, 3 envs)');
  });
});

describe('Worker pool liveness', () => {
  const member = (key: string): Member => ({ key, identity: Buffer.from(key), id: 0, processSlot: null, slot: 0, numEnvs: 1, name: key, lastSeen: 0 });
  const make = () => new Liveness({ timeoutMs: 1000, heartbeatMs: 500, failureLimit: 50 }, 0);

  it("drops a worker past its failure limit while another delivers, and never stops the run for it (issue 11: one peer's 300 env errors)", () => {
    const l = make();
    const [evil, good] = [member('evil'), member('good')];
    [evil, good].forEach((m) => l.joined(m));
    const verdicts = Array.from({ length: 51 }, (_, i) => l.envError(evil, `env X, step ${i}: text ${i}`, [evil, good]).action);
    assert.deepEqual(verdicts.slice(0, 50), new Array(50).fill('count'));
    assert.equal(verdicts[50], 'drop');
  });

  it('stops the run when every live worker keeps failing, naming the last failure', () => {
    const l = make();
    const [a, b] = [member('a'), member('b')];
    [a, b].forEach((m) => l.joined(m));
    for (let i = 0; i < 51; i++) l.failed(b, 'b fails', [a, b]);
    l.left(b); // dropped
    for (let i = 0; i < 50; i++) assert.equal(l.failed(a, 'a fails', [a]).action, 'count');
    assert.deepEqual(l.failed(a, 'env E, step 3: broken', [a]), { action: 'stop', why: 'every worker keeps failing: 51 env errors or bad batches and no good batch since; last: env E, step 3: broken' });
  });

  it('forgives a worker its failures at a good batch', () => {
    const l = make();
    const [a, b] = [member('a'), member('b')];
    for (let i = 0; i < 50; i++) l.failed(a, 'x', [a, b]);
    l.delivered(a);
    for (let i = 0; i < 50; i++) l.failed(b, 'x', [a, b]);
    assert.equal(l.failed(a, 'x', [a, b]).action, 'count');
  });

  it('keeps as the last env error only env errors, not malformed or rejected batches', () => {
    const l = make();
    const a = member('a');
    l.envError(a, 'env E, step 1: boom', [a]);
    l.failed(a, 'worker a sent a malformed message: batch.obs[0] is NaN', [a]);
    assert.equal(l.lastEnvError, 'env E, step 1: boom');
  });

  it('blames no worker for a learner pause, and finds a silent one after the timeout', () => {
    const l = make();
    const a = member('a');
    assert.deepEqual(l.tick(5000, [a]).silent, []); // the learner's own loop stalled for 5 s
    assert.equal(a.lastSeen, 5000);
    assert.deepEqual(l.tick(5250, [a]).silent, []);
    assert.deepEqual(l.tick(5500, [a]).silent, []);
    assert.deepEqual(l.tick(5750, [a]).silent, []);
    assert.deepEqual(l.tick(6001, [a]).silent, [a]);
  });
});

describe('Text from peers', () => {
  it('is escaped (control characters, terminal escapes, C1 and bidi controls) and cut to its bound', () => {
    assert.equal(peerText('a\nb\rc\x1b[31md\x9be\u202ef'), 'a\\x0ab\\x0dc\\x1b[31md\\x9be\\u202ef');
    assert.equal(peerText('x'.repeat(10), 4), 'xxxx...');
    assert.equal(peerText('the flaky env fell over: step 3 (ok)'), 'the flaky env fell over: step 3 (ok)');
  });

  it("is shown at most five lines per worker a minute, then one line says the rest are counted", () => {
    const lines: string[] = [];
    const p = new PeerLines((l) => lines.push(l));
    for (let i = 0; i < 300; i++) p.show('k', 'worker 7', `worker 7: error ${i}`, i);
    p.show('other', 'worker 8', 'worker 8: error', 300);
    assert.deepEqual(lines, ['worker 7: error 0', 'worker 7: error 1', 'worker 7: error 2', 'worker 7: error 3', 'worker 7: error 4', 'worker 7: more lines from this worker in the next 60 s are counted, not shown', 'worker 8: error']);
    p.show('k', 'worker 7', 'worker 7: error again', 60_000);
    assert.equal(lines.at(-1), 'worker 7: error again');
  });
});

describe('Worker pool rate limits', () => {
  const gate = (now = 0) => new HelloGate({ perPeer: { burst: 4, perSecond: 0.2 }, total: { burst: 10, perSecond: 10 }, maxPeers: 100 }, now);

  it('answers a peer 4 hellos at once, then one per 5 s', () => {
    const g = gate();
    const answered = (now: number, n: number) => Array.from({ length: n }, () => g.admit('a', now)).filter(Boolean).length;
    assert.equal(answered(0, 1000), 4);
    assert.equal(answered(4999, 10), 0);
    assert.equal(answered(5000, 10), 1);
    assert.equal(answered(20_000, 10), 3);
  });

  it('answers 10 hellos at once from ever new peers, then 10 a second, and tracks only the peers it answered', () => {
    const g = gate();
    const answered = (now: number, from: number, n: number) => Array.from({ length: n }, (_, i) => g.admit(`p${from + i}`, now)).filter(Boolean).length;
    assert.equal(answered(0, 0, 1000), 10);
    assert.equal(answered(500, 1000, 1000), 5);
    assert.equal(g.size, 15);
  });

  it('forgets a peer once its bucket is full again, and refuses new peers past maxPeers while none is quiet', () => {
    const g = new HelloGate({ perPeer: { burst: 2, perSecond: 1 }, total: { burst: 1000, perSecond: 1000 }, maxPeers: 3 }, 0);
    for (const p of ['a', 'b', 'c']) assert.equal(g.admit(p, 0), true);
    assert.equal(g.admit('d', 0), false);
    g.forgetQuiet(999);
    assert.equal(g.size, 3);
    assert.equal(g.admit('d', 1000), true); // a, b and c are full again: forgotten to make room
    assert.equal(g.size, 1);
  });

  it('sends a member each policy version once, a repeat of it after 5 s, and again after it is forgotten', () => {
    const w = new WeightsAnswers(5000);
    assert.deepEqual([w.due('a', 0, 0), w.due('a', 0, 100), w.due('b', 0, 100), w.due('a', 1, 200), w.due('a', 1, 5199), w.due('a', 1, 5200)], [true, false, true, true, false, true]);
    w.forget('a');
    assert.equal(w.due('a', 1, 5300), true);
  });
});
