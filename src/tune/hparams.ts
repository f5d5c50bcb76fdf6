import * as fs from 'node:fs';
import * as path from 'node:path';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { TensorBoardWriter } from '../tensorboard';
import type { Dimension } from './space';

/**
 * TensorBoard's HParams data for a sweep, in the plugin's own protos
 * (tensorboard/plugins/hparams/plugin_data.proto and api.proto), encoded with @bufbuild/protobuf's
 * wire writer: the experiment (its hyperparameters and metric) in the root run, and per trial a
 * run named by the trial holding its session start (its values), its metric as a scalar, and
 * its session end (its status). `tensorboard --logdir SWEEP_DIR/tensorboard` lists the trials
 * in its HPARAMS tab.
 */

/** The summary tags and plugin name TensorBoard's HParams plugin reads (its metadata.py). */
export const HPARAMS = { plugin: 'hparams', experimentTag: '_hparams_/experiment', startTag: '_hparams_/session_start_info', endTag: '_hparams_/session_end_info' } as const;

/** api.proto's Status: how a session ended. */
export const SESSION_STATUS = { unknown: 0, success: 1, failure: 2, running: 3 } as const;

/** One trial, as the HParams data shows it. */
export interface HParamsTrial {
  /** The trial's id: its run's name (a subfolder). */
  id: string;
  /** Its hyperparameter values, by dotted key. */
  params: Record<string, unknown>;
  /** Its metric (absent: none yet). */
  metric?: number;
  /** The env steps the metric was reached at. */
  envSteps: number;
  /** The session's status. */
  status: keyof typeof SESSION_STATUS;
  /** Unix seconds. */
  startTime: number;
  /** Unix seconds; absent while it runs. */
  endTime?: number;
  /** Its seed (a hyperparameter column too). */
  seed: number;
}

/**
 * Writes the sweep's HParams data afresh into `dir` (emptied first: TensorBoard keeps the first
 * experiment summary it reads, so the files are replaced, not appended to).
 */
export function writeHParams(dir: string, opts: { space: Dimension[]; metric: string; trials: HParamsTrial[]; created: number }): void {
  fs.rmSync(dir, { recursive: true, force: true });
  const quiet = { log: () => {} };
  const root = new TensorBoardWriter(dir, quiet);
  root.writeSummary(0, summary(HPARAMS.experimentTag, pluginData(2, experiment(opts.space, opts.metric, opts.created))), opts.created);
  root.close();
  for (const t of opts.trials) {
    const w = new TensorBoardWriter(path.join(dir, t.id), quiet);
    w.writeSummary(0, summary(HPARAMS.startTag, pluginData(3, sessionStart(t))), t.startTime);
    if (t.metric !== undefined && Number.isFinite(t.metric)) w.writeScalars(t.envSteps, { [opts.metric]: t.metric }, t.endTime ?? t.startTime);
    if (t.endTime !== undefined) w.writeSummary(t.envSteps, summary(HPARAMS.endTag, pluginData(4, sessionEnd(SESSION_STATUS[t.status], t.endTime))), t.endTime);
    w.close();
  }
}

/** HParamsPluginData { version = 1 (0); oneof data: experiment = 2, session_start_info = 3, session_end_info = 4 }. */
function pluginData(field: 2 | 3 | 4, message: Uint8Array): Uint8Array {
  return new BinaryWriter().tag(1, WireType.Varint).int32(0).tag(field, WireType.LengthDelimited).bytes(message).finish();
}

/**
 * Summary { value = 1: Value { tag = 1, metadata = 9: SummaryMetadata { plugin_data = 1:
 * PluginData { plugin_name = 1, content = 2 } }, tensor = 8: the null tensor the plugin's own
 * writer puts there (TensorProto { dtype = 1: DT_FLOAT, tensor_shape = 2: {}, float_val = 5: [0] }) } }.
 */
function summary(tag: string, content: Uint8Array): Uint8Array {
  const w = new BinaryWriter().tag(1, WireType.LengthDelimited).fork();
  w.tag(1, WireType.LengthDelimited).string(tag);
  w.tag(9, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(HPARAMS.plugin).tag(2, WireType.LengthDelimited).bytes(content).join().join();
  w.tag(8, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(1).tag(2, WireType.LengthDelimited).bytes(new Uint8Array()).tag(5, WireType.LengthDelimited).fork().float(0).join().join();
  return w.join().finish();
}

/**
 * Experiment { description = 1, time_created_secs = 3, hparam_infos = 4: HParamInfo { name = 1,
 * type = 4 (DataType: 1 string, 2 bool, 3 float64), domain_discrete = 5 | domain_interval = 6 },
 * metric_infos = 5: MetricInfo { name = 1: MetricName { group = 1, tag = 2 } } }.
 */
function experiment(space: Dimension[], metric: string, created: number): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string('rl tune sweep');
  w.tag(3, WireType.Bit64).double(created);
  for (const dim of [...space, { key: 'seed', kind: 'int', low: 0, high: 2 ** 31 } as Dimension]) {
    w.tag(4, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(dim.key);
    if ('values' in dim) {
      const scalars = dim.values.map(scalarOf);
      const type = scalars.every((v) => typeof v === 'number') ? 3 : scalars.every((v) => typeof v === 'boolean') ? 2 : 1;
      w.tag(4, WireType.Varint).int32(type);
      w.tag(5, WireType.LengthDelimited).fork();
      for (const v of scalars) w.tag(1, WireType.LengthDelimited).bytes(value(v));
      w.join();
    } else {
      w.tag(4, WireType.Varint).int32(3);
      w.tag(6, WireType.LengthDelimited).fork().tag(1, WireType.Bit64).double(dim.low).tag(2, WireType.Bit64).double(dim.high).join();
    }
    w.join();
  }
  w.tag(5, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string('').tag(2, WireType.LengthDelimited).string(metric).join().join();
  return w.finish();
}

/** SessionStartInfo { hparams = 1: map<string, google.protobuf.Value> (entry: key = 1, value = 2), start_time_secs = 5 }. */
function sessionStart(t: HParamsTrial): Uint8Array {
  const w = new BinaryWriter();
  for (const [k, v] of [...Object.entries(t.params), ['seed', t.seed] as const]) {
    w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(k).tag(2, WireType.LengthDelimited).bytes(value(scalarOf(v))).join();
  }
  w.tag(5, WireType.Bit64).double(t.startTime);
  return w.finish();
}

/** SessionEndInfo { status = 1, end_time_secs = 2 }. */
function sessionEnd(status: number, end: number): Uint8Array {
  return new BinaryWriter().tag(1, WireType.Varint).int32(status).tag(2, WireType.Bit64).double(end).finish();
}

/** google.protobuf.Value { number_value = 2 | string_value = 3 | bool_value = 4 }. */
function value(v: number | string | boolean): Uint8Array {
  const w = new BinaryWriter();
  if (typeof v === 'number') w.tag(2, WireType.Bit64).double(v);
  else if (typeof v === 'boolean') w.tag(4, WireType.Varint).bool(v);
  else w.tag(3, WireType.LengthDelimited).string(v);
  return w.finish();
}

/** A hyperparameter value as HParams holds it: numbers, booleans and strings as they are, anything else (a list) as its JSON. */
function scalarOf(v: unknown): number | string | boolean {
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string' ? v : JSON.stringify(v);
}
