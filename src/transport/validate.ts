import { ACTION_MASK, batchColumns, perEnv, type ColumnSpec, type ModelConfig, type NamedTensor, type PolicySpec, type TrajectoryBatch } from '../../core/algorithm';
import { describeValue } from '../../core/describe';
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_GAME_RESULTS, MAX_GAMES_BATCHES, SHA256, type BatchExpectation, type WorkerSetup } from './messages';
import { MAX_BATCH_ENVS, MAX_BATCH_LENGTH, MAX_ENV_CODE_BYTES } from './limits';
import { isPlainObject, reject, withType, type Obj } from './codec';

/**
 * The checks every field of a message passes on receipt, each naming the field it rejects;
 * and `validateBatch`, the one rule for a batch, whether it came from a worker or from local mode.
 */

/** The shapes of one policy's batches, worked out once from its spec. */
interface BatchShape {
  obsSize: number;
  obsType: TypedArrayClass<Float32Array | Uint8Array>;
  actionSize: number;
  /** For a Discrete action space, its size: actions must be integers in [0, actionCount). */
  actionCount?: number;
  columns: ColumnSpec[];
  state: PolicySpec['state'];
}

const shapes = new WeakMap<PolicySpec, BatchShape>();

function batchShape(spec: PolicySpec): BatchShape {
  let shape = shapes.get(spec);
  if (!shape) {
    const obs = spec.observationSpace;
    const act = spec.actionSpace;
    shape = {
      obsSize: spaceSize(obs as unknown as Obj),
      obsType: obs.type === 'Box' && obs.dtype === 'uint8' ? Uint8Array : Float32Array,
      actionSize: act.type === 'Discrete' ? 1 : spaceSize(act as unknown as Obj),
      actionCount: act.type === 'Discrete' ? act.n : undefined,
      columns: batchColumns(spec),
      state: spec.state,
    };
    shapes.set(spec, shape);
  }
  return shape;
}

/**
 * A batch as the learner accepts it, whether it came from a worker (after decoding) or from
 * local mode: one rule both ways. Throws `MessageRejected` naming the field.
 */
export function validateBatch(batch: TrajectoryBatch, expect: BatchExpectation): void {
  withType('batch', () => checkBatch(batch as unknown as Obj, 'batch', expect, batch.workerId));
}

// ---- Batches, setup, weights ----

/** Every field of T, checked by the compiler: a field added to T and not here fails the build. */
function fieldsOf<T>(fields: Record<keyof T, true>): string[] {
  return Object.keys(fields);
}

const BATCH_FIELDS = fieldsOf<TrajectoryBatch>({
  workerId: true, seq: true, policyId: true, policyVersion: true, numEnvs: true, length: true, obs: true, actions: true,
  rewards: true, terminated: true, truncated: true, columns: true, state: true, nextObs: true, finalObs: true, nextMasks: true, episodes: true,
});
const SETUP_FIELDS = fieldsOf<WorkerSetup>({
  policies: true, envId: true, envConfig: true, numEnvs: true, rolloutLength: true, seed: true, heartbeatSeconds: true, slot: true, numSlots: true, pubEndpoint: true, learnerDir: true,
  instance: true, packageVersion: true, code: true, multiAgent: true,
});
const SPEC_FIELDS = fieldsOf<PolicySpec>({ algorithm: true, policyId: true, observationSpace: true, actionSpace: true, actionMask: true, model: true, config: true, columns: true, state: true, boxActions: true });
const MODEL_FIELDS = fieldsOf<ModelConfig>({ hiddenSizes: true, activation: true, sharedLayers: true, conv: true, recurrent: true });
const CONV_FIELDS = ['filters', 'kernel', 'stride', 'padding'];
const TENSOR_FIELDS = fieldsOf<NamedTensor>({ name: true, shape: true, data: true });

export function checkBatch(b: Obj, path: string, expect: BatchExpectation, workerId: number): void {
  keys(b, BATCH_FIELDS, path);
  const id = int(b, 'workerId', path);
  if (id !== workerId) reject('badField', `${path}.workerId (${id}) must equal the message's workerId (${workerId})`);
  int(b, 'seq', path);
  const policyId = str(b, 'policyId', path, 100);
  if (!Object.hasOwn(expect.policies, policyId)) reject('badField', `${path}.policyId ${describeValue(policyId)} is not a policy of this run (${Object.keys(expect.policies).join(', ')})`);
  const shape = batchShape(expect.policies[policyId]);
  int(b, 'policyVersion', path);
  const n = int(b, 'numEnvs', path, 1, expect.maxNumEnvs);
  const T = int(b, 'length', path, 1, expect.maxLength);
  const rows = n * T;
  observations(b, 'obs', path, shape, [n, T, shape.obsSize]);
  const actions = f32(b, 'actions', path, [n, T, shape.actionSize]);
  if (shape.actionCount !== undefined) {
    const bad = actions.findIndex((a) => !Number.isInteger(a) || a < 0 || a >= shape.actionCount!);
    if (bad >= 0) reject('badField', `${path}.actions[${bad}] is ${actions[bad]}, not an action of Discrete(${shape.actionCount})`);
  }
  f32(b, 'rewards', path, [n, T]);
  flags(b, 'terminated', path, [n, T]);
  flags(b, 'truncated', path, [n, T]);

  const columns = obj(b, 'columns', path);
  exactly(columns, shape.columns.map((c) => c.name), `${path}.columns`);
  for (const c of shape.columns) column(columns, c, `${path}.columns`, [n, T, perEnv(c.shape)]);
  const state = obj(b, 'state', path);
  exactly(state, shape.state.map((s) => s.name), `${path}.state`);
  for (const s of shape.state) f32(state, s.name, `${path}.state`, [n, s.size]);

  observations(b, 'nextObs', path, shape, [n, shape.obsSize]);

  const final = obj(b, 'finalObs', path);
  keys(final, ['index', 'obs'], `${path}.finalObs`);
  const index = typed(final, 'index', `${path}.finalObs`, Int32Array);
  for (let i = 0; i < index.length; i++) {
    const at = `${path}.finalObs.index[${i}]`;
    if (index[i] < 0 || index[i] >= rows) reject('badField', `${at} is ${index[i]}, must be in [0, ${rows})`);
    if (i > 0 && index[i] <= index[i - 1]) reject('badField', `${at} (${index[i]}) must be greater than the one before (${index[i - 1]})`);
  }
  observations(final, 'obs', `${path}.finalObs`, shape, [index.length, shape.obsSize]);

  const mask = shape.columns.find((c) => c.name === ACTION_MASK);
  if (!mask) {
    if (field(b, 'nextMasks', path) !== null) reject('badField', `${path}.nextMasks must be null: the env of this run gives no action masks`);
  } else {
    const masks = obj(b, 'nextMasks', path);
    keys(masks, ['next', 'final'], `${path}.nextMasks`);
    maskValues(sized(masks, 'next', `${path}.nextMasks`, Uint8Array, [n, mask.shape[0]]), mask.shape[0], `${path}.nextMasks.next`);
    maskValues(sized(masks, 'final', `${path}.nextMasks`, Uint8Array, [index.length, mask.shape[0]]), mask.shape[0], `${path}.nextMasks.final`);
    maskValues(columns[ACTION_MASK] as Uint8Array, mask.shape[0], `${path}.columns.${ACTION_MASK}`);
    const taken = shape.actionCount === undefined ? -1 : actions.findIndex((a, r) => (columns[ACTION_MASK] as Uint8Array)[r * mask.shape[0] + a] !== 1);
    if (taken >= 0) reject('badField', `${path}.actions[${taken}] (${actions[taken]}) is illegal under its row's ${ACTION_MASK}`);
  }

  const episodes = obj(b, 'episodes', path);
  keys(episodes, ['returns', 'lengths'], `${path}.episodes`);
  const lengths = typed(episodes, 'lengths', `${path}.episodes`, Int32Array);
  for (let i = 0; i < lengths.length; i++) {
    if (lengths[i] < 1) reject('badField', `${path}.episodes.lengths[${i}] is ${lengths[i]}, must be positive`);
  }
  f32(episodes, 'returns', `${path}.episodes`, [lengths.length]);
}

/** `o` has exactly the keys `names`, in any order. */
function exactly(o: Obj, names: string[], path: string): void {
  const got = Object.keys(o).sort();
  const want = [...names].sort();
  if (got.join('\0') !== want.join('\0')) reject('badField', `${path} has [${got.join(', ')}], expected [${want.join(', ')}]`);
}

/** Observations in the space's element type: float32 ones finite, uint8 ones any byte. */
function observations(o: Obj, key: string, path: string, shape: BatchShape, dims: number[]): void {
  if (shape.obsType === Uint8Array) sized(o, key, path, Uint8Array, dims);
  else f32(o, key, path, dims);
}

/** A declared column: its dtype's typed array of product(dims) values, float32 ones finite. */
function column(o: Obj, c: ColumnSpec, path: string, dims: number[]): void {
  if (c.dtype === 'float32') f32(o, c.name, path, dims);
  else if (c.dtype === 'int32') sized(o, c.name, path, Int32Array, dims);
  else sized(o, c.name, path, Uint8Array, dims);
}

/** Rows of `n` mask bytes: each 0 or 1, at least one 1 per row. */
function maskValues(m: Uint8Array, n: number, path: string): void {
  for (let r = 0; r * n < m.length; r++) {
    let legal = 0;
    for (let a = 0; a < n; a++) {
      const v = m[r * n + a];
      if (v > 1) reject('badField', `${path}[${r * n + a}] is ${v}, must be 0 or 1`);
      legal += v;
    }
    if (legal === 0) reject('badField', `${path} row ${r} leaves no legal action`);
  }
}

export function checkSetup(s: Obj, path: string): void {
  keys(s, SETUP_FIELDS, path);
  const policies = obj(s, 'policies', path);
  const ids = Object.keys(policies);
  if (ids.length === 0 || ids.length > 64) reject('badField', `${path}.policies must name 1 to 64 policies, got ${ids.length}`);
  for (const id of ids) checkSpec(obj(policies, id, `${path}.policies`), `${path}.policies.${id}`, id);
  str(s, 'envId', path);
  obj(s, 'envConfig', path);
  // A worker builds what these say before it steps once: bounded here, not by its memory.
  const n = int(s, 'numEnvs', path, 1, MAX_BATCH_ENVS);
  const T = int(s, 'rolloutLength', path, 1, MAX_BATCH_LENGTH);
  for (const id of ids) {
    const spec = policies[id] as unknown as PolicySpec;
    const shape = batchShape(spec);
    const perStep = shape.obsSize * (shape.obsType === Uint8Array ? 1 : 4) + 4 * shape.actionSize + 6 + shape.columns.reduce((a, c) => a + perEnv(c.shape) * (c.dtype === 'uint8' ? 1 : 4), 0);
    // A recurrent policy's state, per env, at the batch's start (and carried between steps).
    const batchBytes = n * T * perStep + n * 4 * shape.state.reduce((a, s) => a + s.size, 0);
    if (batchBytes > DEFAULT_MAX_MESSAGE_BYTES) {
      reject('badField', `${path}: numEnvs ${n} x rolloutLength ${T} make batches of policy ${id} of ${batchBytes} bytes, more than the ${DEFAULT_MAX_MESSAGE_BYTES} a message may be`);
    }
  }
  int(s, 'seed', path);
  const hb = field(s, 'heartbeatSeconds', path);
  if (typeof hb !== 'number' || !(hb >= 0.01 && hb <= 3600)) reject('badField', `${path}.heartbeatSeconds must be a number of seconds in [0.01, 3600], got ${describeValue(hb)}`);
  const numSlots = int(s, 'numSlots', path, 1);
  int(s, 'slot', path, 0, numSlots - 1);
  str(s, 'pubEndpoint', path);
  str(s, 'learnerDir', path);
  str(s, 'instance', path, 64);
  str(s, 'packageVersion', path, 64);
  if (field(s, 'code', path) !== null) {
    const code = obj(s, 'code', path);
    keys(code, ['sha256', 'bytes'], `${path}.code`);
    sha256(code, 'sha256', `${path}.code`);
    int(code, 'bytes', `${path}.code`, 1, MAX_ENV_CODE_BYTES);
  }
  if (s.multiAgent !== undefined) checkMultiAgentSetup(obj(s, 'multiAgent', path), `${path}.multiAgent`, ids);
}

/** A multi-agent setup: its trained policy one of the setup's, its agents distinct names, its built-in players and mapping string tables. */
function checkMultiAgentSetup(m: Obj, at: string, policies: string[]): void {
  keys(m, ['trained', 'agents', 'builtins', 'mapping'], at);
  const trained = names(m, 'trained', at, 1);
  const stranger = trained.find((id) => !policies.includes(id));
  if (stranger !== undefined) reject('badField', `${at}.trained names ${describeValue(stranger)}, not a policy of the setup (${policies.join(', ')})`);
  const agents = names(m, 'agents', at, 1);
  stringTable(m, 'builtins', at);
  if (field(m, 'mapping', at) !== null) {
    const mapping = stringTable(m, 'mapping', at);
    exactly(mapping, agents, `${at}.mapping`);
  }
}

/** An object of at most 256 non-empty strings (of at most 100 characters) by key. */
function stringTable(o: Obj, key: string, path: string): Obj {
  const t = obj(o, key, path);
  const at = join(path, key);
  if (Object.keys(t).length > 256) reject('badField', `${at} has ${Object.keys(t).length} entries, more than 256`);
  for (const k of Object.keys(t)) str(t, k, at, 100);
  return t;
}

/** An array of `min` to 256 distinct non-empty strings of at most 100 characters. */
function names(o: Obj, key: string, path: string, min: number): string[] {
  const at = join(path, key);
  const v = list(o, key, path, 256);
  if (v.length < min) reject('badField', `${at} must have at least ${min} entries, got ${v.length}`);
  v.forEach((x, i) => {
    if (typeof x !== 'string' || x.length === 0 || x.length > 100) reject('badField', `${at}[${i}] must be a non-empty string of at most 100 characters, got ${describeValue(x)}`);
  });
  if (new Set(v).size !== v.length) reject('badField', `${at} has a name twice`);
  return v as string[];
}

/** A league's matchup draw (sent with the weights): shares in [0, 1] summing to at most 1, a seat rule, the opponents with their weights (finite, >= 0) or null. */
export function checkDraw(d: Obj, at: string): void {
  keys(d, ['selfPlay', 'builtinShare', 'builtins', 'seat', 'opponents', 'weights'], at);
  const share = (k: string) => {
    const v = field(d, k, at);
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) reject('badField', `${at}.${k} must be a number in [0, 1], got ${describeValue(v)}`);
    return v;
  };
  if (share('selfPlay') + share('builtinShare') > 1) reject('badField', `${at}.selfPlay + ${at}.builtinShare must be <= 1`);
  const builtins = names(d, 'builtins', at, 0);
  if ((d.builtinShare as number) > 0 && builtins.length === 0) reject('badField', `${at}.builtinShare is above 0 and ${at}.builtins is empty`);
  if (d.seat !== 'alternate' && d.seat !== 'random') reject('badField', `${at}.seat must be 'alternate' or 'random', got ${describeValue(d.seat)}`);
  const opponents = names(d, 'opponents', at, 0);
  if (field(d, 'weights', at) === null) return;
  const weights = list(d, 'weights', at, 256);
  if (weights.length !== opponents.length) reject('badField', `${at}.weights has ${weights.length} entries, ${at}.opponents ${opponents.length}`);
  weights.forEach((w, i) => {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) reject('badField', `${at}.weights[${i}] must be a finite number >= 0, got ${describeValue(w)}`);
  });
}

/**
 * A `games` message's body: 1 to MAX_GAMES_BATCHES batches of the run's policies (sequence
 * numbers rising), and its game results, each seating exactly the run's agents with a policy id
 * and giving returns (finite) of those agents only. Only a multi-agent run takes one.
 */
export function checkGames(msg: Obj, expect: BatchExpectation, workerId: number): void {
  if (!expect.agents) reject('badField', 'a single-agent run takes batches one by one (batch), not games');
  const batches = list(msg, 'batches', '', MAX_GAMES_BATCHES);
  if (batches.length === 0) reject('badField', 'batches must hold at least one batch');
  let last = -1;
  batches.forEach((b, i) => {
    const at = `batches[${i}]`;
    if (!isPlainObject(b)) reject('badField', `${at} must be an object, got ${describeValue(b)}`);
    checkBatch(b, at, expect, workerId);
    if (i > 0 && (b.seq as number) <= last) reject('badField', `${at}.seq (${b.seq}) must be greater than the one before (${last})`);
    last = b.seq as number;
  });
  const agents = expect.agents;
  list(msg, 'results', '', MAX_GAME_RESULTS).forEach((r, i) => {
    const at = `results[${i}]`;
    if (!isPlainObject(r)) reject('badField', `${at} must be an object, got ${describeValue(r)}`);
    keys(r, ['seats', 'returns'], at);
    exactly(stringTable(r, 'seats', at), [...agents], `${at}.seats`);
    const returns = obj(r, 'returns', at);
    for (const [agent, v] of Object.entries(returns)) {
      if (!agents.includes(agent)) reject('badField', `${at}.returns names ${describeValue(agent)}, not an agent of this run (${agents.join(', ')})`);
      if (typeof v !== 'number' || !Number.isFinite(v)) reject('nonFinite', `${at}.returns.${agent} must be a finite number, got ${describeValue(v)}`);
    }
  });
}

/** A policy's spec: its spaces, model and the columns and state it declares (the model's size is the worker's to check, by its algorithm). */
function checkSpec(spec: Obj, at: string, id: string): void {
  keys(spec, SPEC_FIELDS, at);
  str(spec, 'algorithm', at);
  if (str(spec, 'policyId', at, 100) !== id) reject('badField', `${at}.policyId (${describeValue(spec.policyId)}) must be its key (${describeValue(id)})`);
  checkSpace(obj(spec, 'observationSpace', at), `${at}.observationSpace`);
  checkSpace(obj(spec, 'actionSpace', at), `${at}.actionSpace`);
  const masked = field(spec, 'actionMask', at);
  if (typeof masked !== 'boolean') reject('badField', `${at}.actionMask must be a boolean, got ${describeValue(masked)}`);
  if (masked && (spec.actionSpace as Obj).type !== 'Discrete') reject('badField', `${at}.actionMask needs a Discrete action space`);
  checkModel(obj(spec, 'model', at), `${at}.model`);
  field(spec, 'config', at);
  const names = new Set<string>();
  list(spec, 'columns', at, 64).forEach((c, i) => {
    const cat = `${at}.columns[${i}]`;
    if (!isPlainObject(c)) reject('badField', `${cat} must be an object, got ${describeValue(c)}`);
    keys(c, ['name', 'dtype', 'shape'], cat);
    const name = str(c, 'name', cat, 100);
    if (names.has(name) || name === ACTION_MASK) reject('badField', `${cat}.name ${describeValue(name)} repeats a column or is the runtime's own`);
    names.add(name);
    if (c.dtype !== 'float32' && c.dtype !== 'int32' && c.dtype !== 'uint8') reject('badField', `${cat}.dtype must be 'float32', 'int32' or 'uint8', got ${describeValue(c.dtype)}`);
    if (perEnv(shape(c, 'shape', cat)) > 1 << 16) reject('badField', `${cat}.shape has more than ${1 << 16} values per step`);
  });
  names.clear();
  list(spec, 'state', at, 16).forEach((s, i) => {
    const sat = `${at}.state[${i}]`;
    if (!isPlainObject(s)) reject('badField', `${sat} must be an object, got ${describeValue(s)}`);
    keys(s, ['name', 'size'], sat);
    const name = str(s, 'name', sat, 100);
    if (names.has(name)) reject('badField', `${sat}.name ${describeValue(name)} repeats`);
    names.add(name);
    int(s, 'size', sat, 1, 1 << 16);
  });
  if (spec.boxActions !== 'clip' && spec.boxActions !== 'squash') reject('badField', `${at}.boxActions must be 'clip' or 'squash', got ${describeValue(spec.boxActions)}`);
}

function list(o: Obj, key: string, path: string, max: number): unknown[] {
  const v = field(o, key, path);
  if (!Array.isArray(v) || v.length > max) reject('badField', `${join(path, key)} must be an array of at most ${max}, got ${describeValue(v)}`);
  return v;
}

function spaceSize(space: Obj): number {
  return space.type === 'Box' ? (space.shape as number[]).reduce((a, d) => a * d, 1) : 1;
}

function checkSpace(space: Obj, path: string): void {
  if (space.type === 'Discrete') {
    keys(space, ['type', 'n'], path);
    int(space, 'n', path, 1);
  } else if (space.type === 'Box') {
    keys(space, ['type', 'shape', 'low', 'high', 'dtype'], path);
    if (space.dtype !== undefined && space.dtype !== 'uint8') reject('badField', `${path}.dtype must be 'uint8' or absent (float32), got ${describeValue(space.dtype)}`);
    const size = shape(space, 'shape', path).reduce((a, d) => a * d, 1);
    for (const k of ['low', 'high']) {
      const bound = field(space, k, path);
      if (!Array.isArray(bound) || bound.length !== size) reject('badField', `${path}.${k} must be an array of ${size} numbers, got ${describeValue(bound)}`);
      const i = bound.findIndex((x) => typeof x !== 'number' || Number.isNaN(x));
      if (i >= 0) reject('badField', `${path}.${k}[${i}] must be a number (infinite is allowed), got ${describeValue(bound[i])}`);
    }
  } else {
    reject('badField', `${path}.type must be 'Discrete' or 'Box', got ${describeValue(space.type)}`);
  }
}

function checkModel(m: Obj, path: string): void {
  keys(m, MODEL_FIELDS, path);
  const sizes = field(m, 'hiddenSizes', path);
  if (!Array.isArray(sizes) || !sizes.every((x) => Number.isSafeInteger(x) && x > 0)) reject('badField', `${path}.hiddenSizes must be an array of positive integers, got ${describeValue(sizes)}`);
  const act = field(m, 'activation', path);
  if (act !== 'tanh' && act !== 'relu') reject('badField', `${path}.activation must be 'tanh' or 'relu', got ${describeValue(act)}`);
  if (typeof field(m, 'sharedLayers', path) !== 'boolean') reject('badField', `${path}.sharedLayers must be a boolean, got ${describeValue(m.sharedLayers)}`);
  if (m.recurrent !== undefined) {
    const r = obj(m, 'recurrent', path);
    keys(r, ['type', 'size'], `${path}.recurrent`);
    if (r.type !== 'lstm' && r.type !== 'gru') reject('badField', `${path}.recurrent.type must be 'lstm' or 'gru', got ${describeValue(r.type)}`);
    int(r, 'size', `${path}.recurrent`, 1);
  }
  if (m.conv === undefined) return;
  if (!Array.isArray(m.conv)) reject('badField', `${path}.conv must be an array, got ${describeValue(m.conv)}`);
  m.conv.forEach((layer: unknown, i: number) => {
    const at = `${path}.conv[${i}]`;
    if (!isPlainObject(layer)) reject('badField', `${at} must be an object, got ${describeValue(layer)}`);
    keys(layer, CONV_FIELDS, at);
    for (const k of ['filters', 'kernel', 'stride']) {
      if (!(Number.isSafeInteger(layer[k]) && (layer[k] as number) > 0)) reject('badField', `${at}.${k} must be a positive integer, got ${describeValue(layer[k])}`);
    }
    if (layer.padding !== 'valid' && layer.padding !== 'same') reject('badField', `${at}.padding must be 'valid' or 'same', got ${describeValue(layer.padding)}`);
  });
}

export function checkProgress(p: Obj, path: string): void {
  keys(p, ['steps', 'total', 'stepsPerSecond'], path);
  const total = int(p, 'total', path, 1);
  int(p, 'steps', path, 0, total);
  const rate = field(p, 'stepsPerSecond', path);
  if (typeof rate !== 'number' || !(rate >= 0) || !Number.isFinite(rate)) reject('badField', `${path}.stepsPerSecond must be a finite number >= 0, got ${describeValue(rate)}`);
}

/** Policies' params by id: each `{ weights, scalars }`, scalars finite numbers. */
export function checkParams(o: Obj, key: string, path: string): void {
  const byId = obj(o, key, path);
  const at = join(path, key);
  const ids = Object.keys(byId);
  if (ids.length === 0 || ids.length > 64) reject('badField', `${at} must hold 1 to 64 policies, got ${ids.length}`);
  for (const id of ids) {
    const p = obj(byId, id, at);
    const pat = `${at}.${id}`;
    keys(p, ['weights', 'scalars'], pat);
    checkWeights(p, 'weights', pat);
    const scalars = obj(p, 'scalars', pat);
    const names = Object.keys(scalars);
    if (names.length > 64) reject('badField', `${pat}.scalars has ${names.length} entries, more than 64`);
    for (const k of names) {
      const v = scalars[k];
      if (typeof v !== 'number') reject('badField', `${pat}.scalars.${k} must be a number, got ${describeValue(v)}`);
      if (!Number.isFinite(v)) reject('nonFinite', `${pat}.scalars.${k} is ${v}`);
    }
  }
}

/** An array of `{ name, shape, data }` with unique names and `data.length` = product(shape). */
function checkWeights(o: Obj, key: string, path: string): void {
  const at = join(path, key);
  const list = field(o, key, path);
  if (!Array.isArray(list)) reject('badField', `${at} must be an array, got ${describeValue(list)}`);
  const seen = new Map<string, number>();
  list.forEach((w, i) => {
    const wat = `${at}[${i}]`;
    if (!isPlainObject(w)) reject('badField', `${wat} must be an object, got ${describeValue(w)}`);
    keys(w, TENSOR_FIELDS, wat);
    const name = str(w, 'name', wat);
    if (seen.has(name)) reject('badField', `${wat}.name ${describeValue(name)} repeats ${at}[${seen.get(name)}].name`);
    seen.set(name, i);
    f32(w, 'data', wat, shape(w, 'shape', wat));
  });
}

// ---- Field helpers: each names the field it rejects ----

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function field(o: Obj, key: string, path: string): unknown {
  if (!Object.hasOwn(o, key)) reject('badField', `${join(path, key)} is missing`);
  return o[key];
}

/** `o` has no fields beyond `allowed` (and `type` at the top level). */
export function keys(o: Obj, allowed: string[], path = ''): void {
  const extra = Object.keys(o).find((k) => !allowed.includes(k) && (path !== '' || k !== 'type'));
  if (extra !== undefined) reject('badField', `${path || 'message'} has an unknown field ${describeValue(extra)}`);
}

export function obj(o: Obj, key: string, path: string): Obj {
  const v = field(o, key, path);
  if (!isPlainObject(v)) reject('badField', `${join(path, key)} must be an object, got ${describeValue(v)}`);
  return v;
}

export function nullable(o: Obj, key: string, path: string, check: () => unknown): void {
  if (field(o, key, path) !== null) check();
}

/** An integer in [min, max]: by default a non-negative one. */
export function int(o: Obj, key: string, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = field(o, key, path);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    const rule = max < Number.MAX_SAFE_INTEGER ? `an integer in [${min}, ${max}]` : min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer >= ${min}`;
    reject('badField', `${join(path, key)} must be ${rule}, got ${describeValue(v)}`);
  }
  return v;
}

export function str(o: Obj, key: string, path: string, maxLength = 1000): string {
  const v = field(o, key, path);
  if (typeof v !== 'string' || v.length === 0) reject('badField', `${join(path, key)} must be a non-empty string, got ${describeValue(v)}`);
  if (v.length > maxLength) reject('badField', `${join(path, key)} has ${v.length} characters, more than ${maxLength}`);
  return v;
}

export function sha256(o: Obj, key: string, path: string): string {
  const v = field(o, key, path);
  if (typeof v !== 'string' || !SHA256.test(v)) reject('badField', `${join(path, key)} must be a sha256, 64 lowercase hex digits, got ${describeValue(v)}`);
  return v;
}

/** An array of at most 8 non-negative integers. */
function shape(o: Obj, key: string, path: string): number[] {
  const v = field(o, key, path);
  if (!Array.isArray(v) || v.length > 8 || !v.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    reject('badField', `${join(path, key)} must be an array of at most 8 non-negative integers, got ${describeValue(v)}`);
  }
  return v;
}

type TypedArrayClass<A> = { new (n: number): A; readonly prototype: A; readonly name: string };

/** Exactly this typed-array class: a Buffer is not a Uint8Array here. */
export function typed<A extends Float32Array | Int32Array | Uint8Array>(o: Obj, key: string, path: string, cls: TypedArrayClass<A>): A {
  const v = field(o, key, path);
  if (v === null || typeof v !== 'object' || Object.getPrototypeOf(v) !== cls.prototype) {
    reject('badField', `${join(path, key)} must be a ${cls.name}, got ${describeValue(v)}`);
  }
  return v as A;
}

/** A typed array whose length is the product of `dims`. */
function sized<A extends Float32Array | Int32Array | Uint8Array>(o: Obj, key: string, path: string, cls: TypedArrayClass<A>, dims: number[]): A {
  const a = typed(o, key, path, cls);
  const n = dims.reduce((x, d) => x * d, 1);
  if (a.length !== n) {
    const expected = dims.length > 1 ? `${dims.join('*')} = ${n}` : `${n}`;
    reject('badField', `${join(path, key)} has ${a.length} values, expected ${expected}`);
  }
  return a;
}

/** A Float32Array of product(dims) finite values. */
function f32(o: Obj, key: string, path: string, dims: number[]): Float32Array {
  const a = sized(o, key, path, Float32Array, dims);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) reject('nonFinite', `${join(path, key)}[${i}] is ${a[i]}`);
  }
  return a;
}

/** A Uint8Array of product(dims) values, each 0 or 1. */
function flags(o: Obj, key: string, path: string, dims: number[]): Uint8Array {
  const a = sized(o, key, path, Uint8Array, dims);
  for (let i = 0; i < a.length; i++) {
    if (a[i] > 1) reject('badField', `${join(path, key)}[${i}] is ${a[i]}, must be 0 or 1`);
  }
  return a;
}
