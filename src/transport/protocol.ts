import type { BatchExpectation, LearnerMessage, WorkerMessage } from './messages';
import { DEFAULT_MAX_MESSAGE_BYTES } from './messages';
import { header, LEARNER_TYPES, reject, WORKER_TYPES, withType } from './codec';
import { checkBatch, checkDraw, checkGames, checkParams, checkProgress, checkSetup, int, keys, nullable, obj, sha256, str, typed } from './validate';
import { MAX_BATCH_ENVS, MAX_ENV_CODE_BYTES } from './limits';
import { describeValue } from '../../core/describe';

/**
 * The protocol between the learner and its rollout workers, in three parts: the messages and
 * constants (messages.ts), the codec with its envelope and per-type limits (codec.ts), and the
 * field checks (validate.ts). Here: decoding, which runs the envelope then each type's checks.
 * Stateless: replayed or stale batches are the caller's to spot (by `seq` and `policyVersion`).
 */

export * from './messages';
export { encode, MessageRejected, type RejectKind } from './codec';
export { validateBatch } from './validate';

export function decodeWorkerMessage(buf: Buffer, expect: BatchExpectation): WorkerMessage {
  const { msg, type } = header(buf, expect.maxBytes, WORKER_TYPES);
  return withType(type, () => {
    switch (type) {
      case 'hello':
        keys(msg, ['host', 'pid', 'numEnvs', 'slot']);
        str(msg, 'host', '', 255);
        int(msg, 'pid', '');
        nullable(msg, 'numEnvs', '', () => int(msg, 'numEnvs', '', 1, MAX_BATCH_ENVS));
        nullable(msg, 'slot', '', () => int(msg, 'slot', ''));
        break;
      case 'batch': {
        keys(msg, ['workerId', 'instance', 'batch']);
        const workerId = int(msg, 'workerId', '');
        str(msg, 'instance', '', 64);
        checkBatch(obj(msg, 'batch', ''), 'batch', expect, workerId);
        break;
      }
      case 'games': {
        keys(msg, ['workerId', 'instance', 'batches', 'results']);
        const workerId = int(msg, 'workerId', '');
        str(msg, 'instance', '', 64);
        checkGames(msg, expect, workerId);
        break;
      }
      case 'heartbeat':
        keys(msg, ['workerId', 'policyVersion', 'sampling']);
        int(msg, 'workerId', '');
        int(msg, 'policyVersion', '');
        nullable(msg, 'sampling', '', () => checkProgress(obj(msg, 'sampling', ''), 'sampling'));
        break;
      case 'envError':
        keys(msg, ['workerId', 'envId', 'step', 'message']);
        int(msg, 'workerId', '');
        str(msg, 'envId', '');
        int(msg, 'step', '');
        str(msg, 'message', '', 10_000);
        break;
      case 'codeRequest':
        keys(msg, ['workerId', 'sha256']);
        int(msg, 'workerId', '');
        sha256(msg, 'sha256', '');
        break;
      case 'refused':
        keys(msg, ['workerId', 'reason']);
        int(msg, 'workerId', '');
        str(msg, 'reason', '', 2000);
        break;
      case 'weightsRequest':
      case 'bye':
        keys(msg, ['workerId']);
        int(msg, 'workerId', '');
        break;
      default:
        reject('unknownType', `message type ${describeValue(type)} is not one of ${WORKER_TYPES.join(', ')}`);
    }
    return msg as unknown as WorkerMessage;
  });
}

export function decodeLearnerMessage(buf: Buffer, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): LearnerMessage {
  const { msg, type } = header(buf, maxBytes, LEARNER_TYPES);
  return withType(type, () => {
    switch (type) {
      case 'welcome':
        keys(msg, ['workerId', 'setup']);
        int(msg, 'workerId', '');
        checkSetup(obj(msg, 'setup', ''), 'setup');
        break;
      case 'sample':
        keys(msg, ['policyVersion']);
        int(msg, 'policyVersion', '');
        break;
      case 'weights':
        keys(msg, ['policyVersion', 'params', 'draw']);
        int(msg, 'policyVersion', '');
        checkParams(msg, 'params', '');
        if (msg.draw !== undefined) checkDraw(obj(msg, 'draw', ''), 'draw');
        break;
      case 'code': {
        keys(msg, ['sha256', 'source']);
        sha256(msg, 'sha256', '');
        const source = typed(msg, 'source', '', Uint8Array);
        if (source.length === 0 || source.length > MAX_ENV_CODE_BYTES) reject('badField', `source has ${source.length} bytes, must be 1 to ${MAX_ENV_CODE_BYTES}`);
        break;
      }
      case 'heartbeat':
      case 'unknownWorker':
        keys(msg, []);
        break;
      default:
        reject('unknownType', `message type ${describeValue(type)} is not one of ${LEARNER_TYPES.join(', ')}`);
    }
    return msg as unknown as LearnerMessage;
  });
}
