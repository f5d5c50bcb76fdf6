import { strict as assert } from 'node:assert';
import type { TrajectoryBatch } from '../core/algorithm';
import { RequestLedger } from '../src/runtime/pool/ledger';

/** A batch as the ledger sees it: who, which sequence number, which weights. */
function batch(workerId: number, seq: number, numEnvs = 4, length = 2): TrajectoryBatch {
  return { workerId, seq, policyVersion: 0, numEnvs, length } as TrajectoryBatch;
}

const T = 2;
const STEPS = 4 * T; // one batch of a 4-env worker

function ledger(streaming = false, timeoutMs = 10_000): RequestLedger {
  const l = new RequestLedger({ rolloutLength: T, streaming, timeoutMs });
  l.join('a', 0, 4, 'worker 0');
  l.join('b', 1, 4, 'worker 1');
  return l;
}

describe('Request ledger', () => {
  it('asks idle workers until the steps in flight cover what is needed, and asks no worker twice', () => {
    const l = ledger();
    assert.deepEqual(l.ask(STEPS, 0), ['a']);
    assert.deepEqual(l.ask(STEPS, 1), []); // a's request covers it
    assert.deepEqual(l.ask(3 * STEPS, 2), ['b']); // a is busy; b covers one more; nobody is left
    assert.deepEqual([l.inFlight('a'), l.inFlight('b')], [1, 1]);
  });

  it('accepts a batch that answers a request, frees the request, and queues the batch', () => {
    const l = ledger();
    l.ask(STEPS, 0);
    assert.equal(l.answer('a', 0, batch(0, 0), 1), null);
    assert.equal(l.inFlight('a'), 0);
    assert.equal(l.queued, 1);
    assert.equal(l.take()?.seq, 0);
    assert.deepEqual(l.ask(STEPS, 2), ['a']);
  });

  it('frees the request of a replayed batch and goes on from its sequence, so a worker that started over is asked again (the hang of eb4e255)', () => {
    const l = ledger();
    for (const seq of [0, 1, 2]) {
      l.ask(STEPS, seq);
      assert.equal(l.answer('a', 0, batch(0, seq), seq), null);
    }
    l.ask(STEPS, 3);
    assert.deepEqual(l.answer('a', 0, batch(0, 0), 4), { kind: 'replayed', why: 'worker 0 sent batch seq 0 after 2', failure: true });
    assert.equal(l.inFlight('a'), 0);
    assert.deepEqual(l.ask(STEPS, 5), ['a']);
    assert.equal(l.answer('a', 0, batch(0, 1), 6), null); // counts on from the replayed 0
  });

  it('frees the request of a batch that claims another worker id (the hang of eb4e255)', () => {
    const l = ledger();
    l.ask(STEPS, 0);
    assert.deepEqual(l.answer('a', 1, batch(1, 0), 1), { kind: 'impostor', why: 'a batch from worker 0 claims worker id 1', failure: true });
    assert.equal(l.inFlight('a'), 0);
    assert.equal(l.queued, 0);
    assert.deepEqual(l.ask(STEPS, 2), ['a']);
  });

  it('frees the request of a worker whose message failed its checks, so the next ask goes to it again (the hangs of 81de386 and 41f9a10)', () => {
    const l = ledger();
    l.ask(STEPS, 0);
    l.malformed('a', 1);
    assert.equal(l.inFlight('a'), 0);
    assert.deepEqual(l.ask(STEPS, 2), ['a']);
  });

  it('rejects a batch nobody asked for, without counting it as a failure or freeing anything', () => {
    const l = ledger();
    assert.deepEqual(l.answer('a', 0, batch(0, 0), 0), { kind: 'unsolicited', why: 'worker 0 sent a batch nobody asked for', failure: false });
    l.ask(STEPS, 1);
    assert.equal(l.answer('a', 0, batch(0, 0), 2), null); // the unsolicited one did not move the sequence
  });

  it("gives up a dropped worker's requests: they no longer cover the need, and its late batch is not a member's", () => {
    const l = ledger();
    l.ask(STEPS, 0);
    assert.equal(l.leave('a'), 1);
    assert.deepEqual(l.ask(STEPS, 1), ['b']);
    assert.equal(l.answer('a', 0, batch(0, 0), 2)?.kind, 'unsolicited');
    assert.equal(l.queued, 0);
  });

  it('starts a restarted worker (a new member with a fresh id) with no requests and a fresh sequence', () => {
    const l = ledger();
    l.ask(STEPS, 0);
    l.answer('a', 0, batch(0, 5), 1);
    l.leave('a');
    l.join('a2', 2, 4, 'worker 2');
    assert.equal(l.inFlight('a2'), 0);
    assert.deepEqual(l.ask(2 * STEPS, 2), ['b', 'a2']);
    assert.equal(l.answer('a2', 2, batch(2, 0), 3), null);
  });

  it("forgets the requests of a worker re-welcomed mid-batch: its old batch is unsolicited, its new sequence from 0 is accepted", () => {
    const l = ledger();
    l.ask(STEPS, 0);
    l.answer('a', 0, batch(0, 3), 1);
    l.ask(STEPS, 2);
    l.rewelcome('a');
    assert.equal(l.inFlight('a'), 0);
    assert.equal(l.answer('a', 0, batch(0, 4), 3)?.kind, 'unsolicited'); // the batch it was sampling when welcomed again
    assert.deepEqual(l.ask(STEPS, 4), ['a']);
    assert.equal(l.answer('a', 0, batch(0, 0), 5), null);
  });

  it('holds an unanswered request overdue after the timeout, and asks other workers in its place (issue 11: a hello of many envs that never answers)', () => {
    const l = new RequestLedger({ rolloutLength: T, streaming: false, timeoutMs: 1000 });
    l.join('big', 0, 4096, 'worker 0');
    l.join('b', 1, 4, 'worker 1');
    assert.deepEqual(l.ask(STEPS, 0), ['big']); // 4096 envs cover anything
    assert.deepEqual(l.overdue(1000), []);
    assert.deepEqual(l.ask(STEPS, 1000), []);
    assert.deepEqual(l.overdue(1001), ['big']);
    assert.deepEqual(l.ask(STEPS, 1001), ['b']);
  });

  it('keeps a slow worker that reports progress on its batch from going overdue, and gives it up once the reports stop (issue 11: a 50 ms env)', () => {
    const l = new RequestLedger({ rolloutLength: T, streaming: false, timeoutMs: 1000 });
    l.join('slow', 0, 4, 'worker 0');
    l.ask(STEPS, 0);
    l.progress('slow', 900);
    l.progress('slow', 1800);
    assert.deepEqual(l.overdue(2500), []);
    assert.deepEqual(l.overdue(2801), ['slow']);
  });

  it('restarts the clocks after a learner pause, so no request is overdue for the time the learner itself was busy', () => {
    const l = new RequestLedger({ rolloutLength: T, streaming: false, timeoutMs: 1000 });
    l.join('a', 0, 4, 'worker 0');
    l.ask(STEPS, 0);
    l.paused(5000);
    assert.deepEqual(l.overdue(5500), []);
    assert.deepEqual(l.overdue(6001), ['a']);
  });

  it('starts the clock again at each answer while a streaming worker still owes one', () => {
    const l = new RequestLedger({ rolloutLength: T, streaming: true, timeoutMs: 1000 });
    l.join('a', 0, 4, 'worker 0');
    assert.deepEqual(l.stream(0), ['a', 'a']);
    l.answer('a', 0, batch(0, 0), 900);
    assert.deepEqual(l.overdue(1500), []); // the second request has owed its answer since 900
    assert.deepEqual(l.overdue(1901), ['a']);
  });

  it('keeps two requests in flight per streaming worker, and sends none while the backlog holds two batches per worker', () => {
    const l = ledger(true);
    assert.deepEqual(l.stream(0), ['a', 'a', 'b', 'b']);
    assert.deepEqual(l.stream(1), []);
    for (const [key, id, seq] of [['a', 0, 0], ['a', 0, 1], ['b', 1, 0]] as const) assert.equal(l.answer(key, id, batch(id, seq), 2), null);
    assert.deepEqual(l.stream(3), ['a', 'a', 'b']);
    assert.equal(l.answer('b', 1, batch(1, 1), 4), null);
    assert.equal(l.queued, 4);
    assert.deepEqual(l.stream(5), []); // backlog of 4 = two per worker: the workers pause
    assert.equal(l.takeAll().length, 4);
    assert.deepEqual(l.stream(6), ['b']);
  });

  it('queue mode: pauses the workers while the backlog holds queueSize batches, and asks past it while the learner waits for more', () => {
    const l = new RequestLedger({ rolloutLength: T, streaming: true, maxBacklog: 3, timeoutMs: 10_000 });
    l.join('a', 0, 4, 'worker 0');
    l.join('b', 1, 4, 'worker 1');
    assert.deepEqual(l.stream(0), ['a', 'a', 'b', 'b']);
    for (const [key, id, seq] of [['a', 0, 0], ['a', 0, 1], ['b', 1, 0]] as const) assert.equal(l.answer(key, id, batch(id, seq), 1), null);
    assert.equal(l.queued, 3);
    assert.deepEqual(l.stream(2), []); // 3 queued = queueSize: nobody is asked
    assert.deepEqual(l.stream(3, true), ['a', 'a', 'b']); // the learner needs more than the queue holds: asked anyway
    assert.equal(l.take()?.seq, 0);
    assert.deepEqual(l.stream(4), []); // two in flight each already
  });

  it('asks nobody to stream in sync mode', () => {
    assert.deepEqual(ledger(false).stream(0), []);
  });
});
