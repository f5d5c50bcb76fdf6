import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';
import { listCheckpoints, readMetadata, saveCheckpoint, verifyCheckpoint } from '../src/checkpoint';
import { MAX_FILE_CHUNK_BYTES, TuneMessageRejected, decodeAgentMessage, decodeTunerMessage, encodeTuneMessage, type AgentMessage, type TunerMessage } from '../src/tune/agent-protocol';
import { storeShippedCode, withShippedEnv } from '../src/tune/agent-code';
import { FileFollower, packNewestCheckpoint, relocateEnv, unpackCheckpoint, writeAt } from '../src/tune/trial-files';
import { fakeCheckpoint } from './helpers/fake-checkpoint';

const packr = new Packr({ useRecords: false });

/** The kind a frame is rejected with, or 'accepted'. */
function rejection(decode: (b: Buffer) => unknown, frame: Buffer): string {
  try {
    decode(frame);
    return 'accepted';
  } catch (err) {
    if (err instanceof TuneMessageRejected) return err.kind;
    throw err;
  }
}

describe('rl tune: the tuner-agent protocol', () => {
  it('round-trips every message of both sides, bytes as bytes', () => {
    const agent: AgentMessage[] = [
      { type: 'heartbeat', version: 1, name: 'a1', pid: 42, slots: 2, running: [7, 8], acceptsCode: true },
      { type: 'file', attempt: 7, file: 'progress', offset: 10, data: Buffer.from('{"iteration":1}\n') },
      { type: 'checkpoint', attempt: 7, checkpoint: { name: 'iter_000003', files: { 'metadata.json': Buffer.from('{}'), 'tensors.bin': Buffer.from([1, 2, 3]) } } },
      { type: 'ended', attempt: 7, code: null, signal: 'SIGTERM' },
    ];
    for (const m of agent) assert.deepEqual(decodeAgentMessage(encodeTuneMessage(m)), m);
    const tuner: TunerMessage[] = [
      { type: 'welcome', version: 1 },
      { type: 'heartbeat' },
      { type: 'run', attempt: 9, trial: 't000-s0', config: 'algorithm: ppo\n', progress: null, checkpoint: null, code: { sha256: 'a'.repeat(64), source: Buffer.from('module.exports = {}'), file: 'corridor.ts' } },
      { type: 'stop', attempt: 9 },
    ];
    for (const m of tuner) assert.deepEqual(decodeTunerMessage(encodeTuneMessage(m)), m);
  });

  it('rejects malformed frames by kind: not msgpack, no type, an unknown type, fields of the wrong kind, a chunk over the limit', () => {
    const agent = (v: unknown) => rejection(decodeAgentMessage, packr.pack(v));
    assert.equal(rejection(decodeAgentMessage, Buffer.from([0x81, 0xa4, 0x74])), 'not msgpack'); // a map cut short
    assert.equal(agent([1, 2]), 'no type');
    assert.equal(agent({ type: 'shutdown' }), 'unknown type');
    assert.equal(agent({ type: 'file', attempt: -1, file: 'progress', offset: 0, data: Buffer.alloc(1) }), 'bad file');
    assert.equal(agent({ type: 'file', attempt: 1, file: '../etc/passwd', offset: 0, data: Buffer.alloc(1) }), 'bad file');
    assert.equal(agent({ type: 'file', attempt: 1, file: 'log', offset: 0, data: Buffer.alloc(MAX_FILE_CHUNK_BYTES + 1) }), 'bad file');
    assert.equal(agent({ type: 'file', attempt: 1, file: 'log', offset: 2 ** 40, data: Buffer.alloc(1) }), 'bad file', 'past 1 GiB: no sparse file of a terabyte');
    assert.equal(agent({ type: 'heartbeat', version: 1, name: 'a1', pid: 1, slots: 0, running: [], acceptsCode: false }), 'bad heartbeat');
    // A checkpoint's name and file names stay inside its folder.
    assert.equal(agent({ type: 'checkpoint', attempt: 1, checkpoint: { name: '../../x', files: {} } }), 'bad checkpoint');
    assert.equal(agent({ type: 'checkpoint', attempt: 1, checkpoint: { name: 'iter_1', files: { '../x': Buffer.alloc(1) } } }), 'bad checkpoint');
    const tuner = (v: unknown) => rejection(decodeTunerMessage, packr.pack(v));
    assert.equal(tuner({ type: 'run', attempt: 1, trial: '..', config: '', progress: null, checkpoint: null, code: null }), 'bad run');
    assert.equal(tuner({ type: 'run', attempt: 1, trial: '../../home', config: '', progress: null, checkpoint: null, code: null }), 'bad run');
    assert.equal(tuner({ type: 'run', attempt: 1, trial: 't0', config: '', progress: null, checkpoint: null, code: { sha256: 'not hex', source: Buffer.alloc(1), file: 'x.ts' } }), 'bad run');
  });
});

describe('rl tune: a trial\'s files between tuner and agent', () => {
  let tmp = '';
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-tune-files-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('mirrors a file that grows, and one rewritten shorter, byte for byte through the ranges it sends', () => {
    const source = path.join(tmp, 'progress.jsonl');
    const mirror = path.join(tmp, 'mirror', 'progress.jsonl');
    const follower = new FileFollower(source);
    const sync = () => {
      const sent: number[] = [];
      for (let c = follower.next(); c; c = follower.next()) {
        writeAt(mirror, c.offset, c.data);
        sent.push(c.offset);
      }
      return sent;
    };
    assert.deepEqual(sync(), [], 'no file yet: nothing');
    fs.writeFileSync(source, 'line 1\nline 2\n');
    assert.deepEqual(sync(), [0]);
    fs.appendFileSync(source, 'line 3\n');
    assert.deepEqual(sync(), [14], 'only the new line, at its offset');
    assert.deepEqual(sync(), [], 'unchanged: nothing');
    // A resumed run cuts its progress back to its checkpoint and goes on: sent from the first byte that differs.
    fs.writeFileSync(source, 'line 1\nline X\n');
    assert.deepEqual(sync(), [12]);
    assert.equal(fs.readFileSync(mirror, 'utf8'), 'line 1\nline X\n');
    fs.writeFileSync(source, 'line 1\n');
    sync();
    assert.equal(fs.readFileSync(mirror, 'utf8'), 'line 1\n');
  });

  it('packs the newest intact checkpoint (none newer than the one sent), unpacks it whole, and renames its env for the machine it lands on', () => {
    const run = path.join(tmp, 'run');
    assert.equal(packNewestCheckpoint(run), undefined);
    for (const i of [1, 2]) saveCheckpoint(run, fakeCheckpoint(i), 5);
    const packed = packNewestCheckpoint(run)!;
    assert.equal(packed.name, 'iter_000002');
    assert.equal(packNewestCheckpoint(run, 'iter_000002'), undefined, 'nothing newer than iter_000002');
    const env = { id: '/agent/code/abc/corridor.cjs:Corridor', module: '/agent/code/abc/corridor.cjs', export: 'Corridor' };
    const there = path.join(tmp, 'there');
    const dir = unpackCheckpoint(there, relocateEnv(packed, env));
    verifyCheckpoint(dir); // the checksummed files are untouched
    assert.deepEqual(listCheckpoints(there), [dir]);
    const meta = readMetadata(dir);
    assert.equal(meta.envId, env.id);
    assert.deepEqual(fs.readFileSync(path.join(dir, 'tensors.bin')), fs.readFileSync(path.join(run, 'checkpoints', 'iter_000002', 'tensors.bin')));
  });

  it("keeps shipped code by its sha256 beside a link to this framework, refuses bytes that do not hash to their name, and points a trial's config at it", () => {
    const source = Buffer.from('module.exports = { Corridor: class {} };');
    const sha256 = createHash('sha256').update(source).digest('hex');
    const said: string[] = [];
    assert.equal(storeShippedCode(tmp, { sha256: 'b'.repeat(64), source, file: 'corridor.ts' }, (l) => said.push(l)), undefined);
    assert.match(said[0], /^tune-agent: shipped env code corridor\.ts: its bytes hash to [0-9a-f]{12}, not bbbbbbbbbbbb; refused$/);
    const file = storeShippedCode(tmp, { sha256, source, file: 'corridor.ts' }, (l) => said.push(l))!;
    assert.equal(file, path.join(tmp, 'code', sha256, 'corridor.cjs'));
    assert.deepEqual(fs.readFileSync(file), source);
    assert.ok(fs.existsSync(path.join(tmp, 'code', 'node_modules', 'rl-zmq', 'package.json')), 'require("rl-zmq") resolves from the bundle');
    const { yaml, env } = withShippedEnv('algorithm: ppo\nenv:\n  id: /proj/corridor.ts:Corridor\n  module: /proj/corridor.ts\n  export: Corridor\n  config: { length: 7 }\n', file);
    assert.deepEqual(env, { id: `${file}:Corridor`, module: file, export: 'Corridor' });
    assert.match(yaml, new RegExp(`module: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(yaml, /length: 7/);
  });
});
