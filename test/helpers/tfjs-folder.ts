import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';

/** Loads an exported tfjs folder with plain @tensorflow/tfjs (no tfjs-node file:// handler): the files read into an IOHandler. */
export function tfjsFolderHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
      const bin = fs.readFileSync(path.join(dir, json.weightsManifest[0].paths[0]));
      return {
        format: json.format,
        modelTopology: json.modelTopology,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        weightSpecs: json.weightsManifest.flatMap((g: { weights: tf.io.WeightsManifestEntry[] }) => g.weights),
        weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      };
    },
  };
}
