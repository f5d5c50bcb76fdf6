import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../core/errors';
import { resolveCheckpoint, type CheckpointChoice } from '../checkpoint';
import { jsModuleSource } from './js';
import { onnxModel } from './onnx';
import { metadataJson, readPolicyGraph } from './policy-graph';
import { tfjsGraphModel } from './tfjs';

export const EXPORT_FORMATS = ['onnx', 'tfjs', 'js'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * `rl export`: the policy of a checkpoint (or of a run dir's checkpoint: `prefer`, see resolveCheckpoint) as a file another program
 * runs without this framework. `out` is a file for onnx (policy.onnx) and js (policy.js), with
 * the metadata beside it (policy.onnx.json, policy.js.json); a folder for tfjs (model.json,
 * weights.bin, metadata.json). Returns the files written.
 */
export async function exportPolicy(opts: { checkpoint: string; format: string; out: string; policyId?: string; prefer?: CheckpointChoice; say?: (line: string) => void }): Promise<string[]> {
  const format = opts.format as ExportFormat;
  if (!EXPORT_FORMATS.includes(format)) throw new ConfigError(`--format (${opts.format}) must be one of ${EXPORT_FORMATS.join(', ')}`);
  const graph = readPolicyGraph(resolveCheckpoint(opts.checkpoint, opts), opts.policyId);
  const write = (file: string, data: string | Uint8Array): string => {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, data);
    return file;
  };
  if (format === 'tfjs') {
    if (fs.existsSync(opts.out) && !fs.statSync(opts.out).isDirectory()) throw new ConfigError(`--out (${opts.out}) is a file; --format tfjs writes a folder (model.json, weights.bin, metadata.json)`);
    const model = tfjsGraphModel(graph);
    const files = ['model.json', 'weights.bin', 'metadata.json'];
    return [
      write(path.join(opts.out, 'model.json'), `${JSON.stringify(model.modelJson)}\n`),
      write(path.join(opts.out, 'weights.bin'), model.weights),
      write(path.join(opts.out, 'metadata.json'), metadataJson(graph.meta, 'tfjs', files)),
    ];
  }
  if (fs.existsSync(opts.out) && fs.statSync(opts.out).isDirectory()) throw new ConfigError(`--out (${opts.out}) is a folder; --format ${format} writes one file (e.g. --out ${path.join(opts.out, `policy.${format}`)})`);
  const body = format === 'onnx' ? await onnxModel(graph) : jsModuleSource(graph);
  return [write(opts.out, body), write(`${opts.out}.json`, metadataJson(graph.meta, format, [path.basename(opts.out)]))];
}
