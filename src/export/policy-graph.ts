import * as path from 'node:path';
import { algorithmNamed, algorithms } from '../../algorithms';
import { type GreedyHeadKind, type ModelConfig, type NamedTensor } from '../../core/algorithm';
import { convSpecs, inputScale, type ConvSpec, type DenseSpec, type InputScale, type LayerSpec, type RecurrentSpec } from '../../core/forward';
import { CheckpointError } from '../../core/errors';
import type { SpaceSpec } from '../../core/spaces';
import { loadCheckpoint, type CheckpointMetadata } from '../checkpoint';
import { trainedPolicyId } from '../config/multi-agent';
import { checkpointWeights } from '../runtime/multi-agent/algorithm';
import { validateConfig } from '../config/load';
import { createEnv, parseModuleRef } from '../env-loader';
import { PACKAGE_VERSION } from '../version';

/**
 * A trained policy as a short list of plain layers, read from a checkpoint once; every export
 * format (onnx, tfjs, js) walks the same list. Only the greedy path is kept: the conv layers,
 * the policy's MLP body and its head, as the algorithm's module says (`greedyPath`: which
 * weights, and the head as one layer). Nothing here uses tfjs.
 */

export type { ConvSpec, DenseSpec, InputScale, LayerSpec, RecurrentSpec };

/** What the head's numbers are, and how the greedy action follows from them. */
export type HeadKind = GreedyHeadKind;

export interface ExportMetadata {
  algorithm: string;
  envId: string;
  observationSpace: SpaceSpec;
  actionSpace: SpaceSpec;
  /** The checkpoint folder exported, with its counters. */
  checkpoint: { path: string; iteration: number; envSteps: number; episodeReturnMean: number | null };
  packageVersion: string;
  /** What the exported model takes: the observations, for Discrete actions an optional action mask, and a recurrent policy's state (h, and c for an LSTM). */
  inputs: { obs: string; mask?: string; h?: string; c?: string };
  /** What it gives: the greedy action and the head, and a recurrent policy's state for the next step (h_next, c_next). */
  outputs: { action: string; head: string; h_next?: string; c_next?: string };
}

export interface PolicyGraph {
  meta: ExportMetadata;
  obsSize: number;
  /** The observation as an image [h, w, c] when the first layers are conv layers; null for an MLP. */
  image: [number, number, number] | null;
  /** What the first layer reads: (obs - low) * scale for a uint8 Box's pictures, as in training (`inputScale`); null: obs as it is. */
  inputScale: InputScale | null;
  /** Conv layers first (their last output flattened row-major h, w, c), then dense layers; the last dense layer is the head. */
  layers: LayerSpec[];
  /**
   * A recurrent policy's cell: after the first `at` layers (the conv layers, or none), which it
   * reads; the layers from `at` on read its output h'. It carries a state from step to step,
   * zeros at an episode's first step. Null for a feed-forward policy.
   */
  recurrent: (RecurrentSpec & { at: number }) | null;
  head: HeadKind;
  /**
   * Greedy action, as `rl evaluate` steps the env: argmax over the head (Discrete); for a Box,
   * the mean clipped to the bounds (`clip`), or squashed by tanh and scaled to them (`squash`:
   * low + (tanh(mean) + 1) (high - low) / 2), as the policy's spec says (`boxActions`).
   */
  action: { kind: 'argmax'; n: number } | { kind: 'clip' | 'squash'; low: Float32Array; high: Float32Array };
  /** The policy acts under action masks (its env gives them): the ONNX and tfjs exports take a `mask` input, the argmax over the legal actions. */
  masked: boolean;
}

/** Reads the policy `policy` of the checkpoint at `dir` (a checkpoint folder; default: the policy it trained) into its policy graph; a CheckpointError names what is missing. */
export function readPolicyGraph(dir: string, policy?: string): PolicyGraph {
  const ckpt = loadCheckpoint(dir);
  const meta = ckpt.metadata;
  const cfg = validateConfig(meta.config, () => `${path.join(dir, 'metadata.json')}: config`);
  const policyId = policy ?? trainedPolicyId(cfg.multiAgent);
  const model: ModelConfig = cfg.model;
  const { observationSpace, actionSpace, actionMask } = checkpointSpaces(dir, meta.spaces, cfg.env);
  const weights = new Map(checkpointWeights(ckpt.algorithm, policyId).map((w) => [w.name, w]));
  if (weights.size === 0) throw new CheckpointError(`${dir}: holds no weights of policy ${policyId} (weights/${policyId}/*)`);
  const get = (name: string): NamedTensor => {
    const w = weights.get(name);
    if (!w) throw new CheckpointError(`${dir}: weights/${policyId}/${name} is missing (${meta.algorithm} policy of model ${JSON.stringify(model)})`);
    return w;
  };
  if (observationSpace.type !== 'Box') throw new CheckpointError(`${dir}: observation space Discrete(${observationSpace.n}); export reads Box observations only`);
  const obsSize = observationSpace.shape.reduce((a, b) => a * b, 1);
  const scale = inputScale(observationSpace);

  const layers: LayerSpec[] = [];
  let image: [number, number, number] | null = null;
  let features = obsSize;
  if (model.conv && model.conv.length > 0) {
    if (observationSpace.shape.length !== 3) throw new CheckpointError(`${dir}: model.conv needs Box(h, w, c) observations, the env's are Box(${observationSpace.shape.join(', ')})`);
    image = observationSpace.shape as [number, number, number];
    const conv = convSpecs(model, image, get, (w, shape) => expectShape(dir, w, shape, policyId));
    layers.push(...conv.layers);
    features = conv.output[0] * conv.output[1] * conv.output[2];
  }

  const algorithm = meta.algorithm;
  const module = algorithmNamed(algorithm);
  if (!module) throw new CheckpointError(`${dir}: algorithm "${algorithm}"; this version has ${Object.keys(algorithms).join(', ')}`);
  const spec = module.policySpec({ config: cfg[algorithm], model, observationSpace, actionSpace, actionMask, policyId });
  const greedy = module.greedyPath(spec, get, (name) => weights.has(name));
  const body = greedy.body;
  let recurrent: PolicyGraph['recurrent'] = null;
  if (greedy.recurrent) {
    const r = greedy.recurrent;
    const width = (r.kind === 'lstm' ? 4 : 3) * r.size;
    if (r.inputs !== features || r.wx.length !== features * width || r.bx.length !== width || r.wh.length !== r.size * width || r.bh.length !== width) {
      throw new CheckpointError(`${dir}: the ${r.kind} cell's weights do not fit ${features} inputs and ${r.size} units (Wx ${r.wx.length}, bx ${r.bx.length}, Wh ${r.wh.length}, bh ${r.bh.length} values)`);
    }
    recurrent = { ...r, at: layers.length };
    features = r.size;
  }
  model.hiddenSizes.forEach((size, i) => {
    const w = get(`${body}/${i}/w`);
    expectShape(dir, w, [features, size], policyId);
    layers.push({ kind: 'dense', inputs: features, outputs: size, activation: model.activation, w: w.data, b: get(`${body}/${i}/b`).data });
    features = size;
  });

  const { kind: head, inputs, outputs: headOutputs, w: headW, b: headB } = greedy.head;
  if (inputs !== features) throw new CheckpointError(`${dir}: the policy head takes ${inputs} inputs, its body gives ${features}`);
  if (headW.length !== inputs * headOutputs || headB.length !== headOutputs) {
    throw new CheckpointError(`${dir}: the policy head's weights have ${headW.length} and ${headB.length} values, expected ${inputs} x ${headOutputs} and ${headOutputs}`);
  }
  layers.push({ kind: 'dense', inputs, outputs: headOutputs, activation: 'linear', w: headW, b: headB });
  const outputs = (layers[layers.length - 1] as DenseSpec).outputs;
  const actionSize = actionSpace.type === 'Discrete' ? actionSpace.n : actionSpace.shape.reduce((a, b) => a * b, 1);
  if (outputs !== actionSize) throw new CheckpointError(`${dir}: the policy head has ${outputs} outputs, the action space needs ${actionSize}`);
  const action: PolicyGraph['action'] =
    actionSpace.type === 'Discrete' ? { kind: 'argmax', n: actionSpace.n } : { kind: spec.boxActions, low: Float32Array.from(actionSpace.low), high: Float32Array.from(actionSpace.high) };
  const masked = action.kind === 'argmax' && actionMask;

  const meanText = action.kind === 'squash' ? 'mean of the Gaussian policy (before tanh)' : 'mean of the Gaussian policy (unclipped)';
  const headText = { logits: 'logits of the Discrete actions', mean: meanText, q: 'Q-value of each Discrete action' }[head];
  const boxText = action.kind === 'squash' ? 'tanh of head, scaled to the action bounds' : 'head clipped to the action bounds';
  const stateText = (name: string) => `float32 [batch, ${recurrent!.size}]: the ${recurrent!.kind.toUpperCase()}'s state ${name}`;
  const state = recurrent
    ? {
        inputs: { h: `${stateText('h')} before this step: zeros at an episode's first step, else the step before's h_next`, ...(recurrent.kind === 'lstm' ? { c: `${stateText('c')} before this step, as h` } : {}) },
        outputs: { h_next: `${stateText('h')} after this step (the next step's h)`, ...(recurrent.kind === 'lstm' ? { c_next: `${stateText('c')} after this step (the next step's c)` } : {}) },
      }
    : { inputs: {}, outputs: {} };
  return {
    meta: {
      algorithm,
      envId: cfg.env.id,
      observationSpace,
      actionSpace,
      checkpoint: { path: dir, iteration: meta.iteration, envSteps: meta.envSteps, episodeReturnMean: meta.episodeReturnMean },
      packageVersion: PACKAGE_VERSION,
      inputs: {
        obs: `float32 [batch, ${obsSize}]: observations flattened row-major${image ? ` (h, w, c) = (${image.join(', ')})` : ''}, as the env gives them${scale ? ' (uint8 values as they are: the model scales them to [0, 1] by the bounds)' : ''}`,
        ...(masked ? { mask: `[batch, ${actionSize}]: the action mask, 1 for a legal action (the env's actionMask()): onnx uint8, required (all ones: every action legal); tfjs int32 and js, optional (left out: every action legal)` } : {}),
        ...state.inputs,
      },
      outputs: {
        action: action.kind === 'argmax' ? `[batch]: the greedy action, argmax of head${masked ? ' over the legal actions' : ''} (the first on a tie)` : `float32 [batch, ${actionSize}]: the greedy action, ${boxText}`,
        head: `float32 [batch, ${actionSize}]: ${headText}`,
        ...state.outputs,
      },
    },
    obsSize,
    image,
    inputScale: scale,
    layers,
    recurrent,
    head,
    action,
    masked,
  };
}

/**
 * The env's spaces: from the checkpoint's metadata, without running any env code. A checkpoint
 * written before metadata held them is read by building its env, but only a registered one: a
 * module env is code, and exporting must not run code a downloaded checkpoint names.
 */
function checkpointSpaces(dir: string, spaces: CheckpointMetadata['spaces'], env: { id: string; config: Record<string, unknown> }): { observationSpace: SpaceSpec; actionSpace: SpaceSpec; actionMask: boolean } {
  if (spaces) return { observationSpace: unbounded(spaces.observationSpace), actionSpace: unbounded(spaces.actionSpace), actionMask: spaces.actionMask === true };
  if (parseModuleRef(env.id)) {
    throw new CheckpointError(`${dir}: its metadata has no env spaces (written before they were recorded), and its env is a module (code), which export does not run; resume it for one iteration with this version to write a checkpoint that has them`);
  }
  const e = createEnv(env.id, env.config);
  try {
    return { observationSpace: e.observationSpace.toSpec(), actionSpace: e.actionSpace.toSpec(), actionMask: typeof e.actionMask === 'function' };
  } finally {
    e.close?.();
  }
}

/** A Box's infinite bounds come back from metadata.json as null (JSON has no Infinity). */
function unbounded(space: SpaceSpec): SpaceSpec {
  if (space.type !== 'Box') return space;
  return { ...space, low: space.low.map((x) => x ?? -Infinity), high: space.high.map((x) => x ?? Infinity) };
}

function expectShape(dir: string, w: NamedTensor, shape: number[], policyId: string): void {
  if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
    throw new CheckpointError(`${dir}: weights/${policyId}/${w.name} has shape [${w.shape}], the config's model needs [${shape}]`);
  }
}

/** The metadata file's text: JSON, with infinite bounds written as the strings "Infinity" / "-Infinity" (JSON has no such numbers). */
export function metadataJson(meta: ExportMetadata, format: string, files: string[]): string {
  return `${JSON.stringify({ format, files, ...meta }, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`;
}
