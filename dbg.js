const p = require('./dist/src/transport/protocol');
const b = require('./dist/src/transport/msgpack-bounds');
const { RolloutWorker } = require('./dist/src/runtime/rollout-worker');
const rows=32;
const batch = { workerId: 2, seq: 7, policyVersion: 3, numEnvs: 4, length: 8, obs: new Float32Array(rows*4), actions: new Float32Array(rows), rewards: new Float32Array(rows).fill(NaN), terminated: new Uint8Array(rows), truncated: new Uint8Array(rows), extras: { logp: new Float32Array(rows), value: new Float32Array(rows) }, nextObs: new Float32Array(16), finalObs: { index: new Int32Array(0), obs: new Float32Array(0) }, episodes: { returns: new Float32Array(0), lengths: new Int32Array(0) } };
const buf = p.encode({ type: 'batch', workerId: 2, batch });
try { console.log(b.scanMessage(buf, { maxDepth: 3, maxEntries: 256, maxDecodedBytes: 1e9 })); } catch (e) { console.log(e.kind, e.message); }
try { p.decodeWorkerMessage(buf, { obsSize: 4, actionSize: 1, extras: ['logp', 'value'], maxNumEnvs: 8, maxLength: 64, maxBytes: 1 << 20 }); } catch (e) { console.log(e.kind, e.message); }
