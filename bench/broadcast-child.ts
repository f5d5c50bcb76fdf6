/**
 * A child process of the `broadcast` bench: `node broadcast-child.js '{"pub":..,"report":..,"sockets":..,"first":..}'`
 * opens `sockets` SUB sockets to the learner's PUB (as a worker does), decodes each weights
 * message with the real decoder, and reports "<subscriber> <policyVersion> <decode wall ms> <decode CPU ms>" over
 * PUSH to the parent, whose clock times the broadcast (and the decode's wall and process CPU ms). Runs until it is killed.
 */
import * as zmq from 'zeromq';
import { decodeLearnerMessage, DEFAULT_MAX_MESSAGE_BYTES } from '../src/transport/protocol';
import { SendQueue } from '../src/transport/send-queue';

const { pub, report, sockets, first } = JSON.parse(process.argv[2]) as { pub: string; report: string; sockets: number; first: number };
const push = new zmq.Push({ linger: 0 });
push.connect(report);
const out = new SendQueue(push);
for (let i = 0; i < sockets; i++) {
  const sub = new zmq.Subscriber({ linger: 0, maxMessageSize: 2 * DEFAULT_MAX_MESSAGE_BYTES });
  sub.connect(pub);
  sub.subscribe();
  void (async () => {
    for await (const [payload] of sub) {
      const t = performance.now();
      const cpu = process.cpuUsage();
      const msg = decodeLearnerMessage(payload);
      const used = process.cpuUsage(cpu);
      const ms = performance.now() - t;
      if (msg.type === 'weights') void out.send(`${first + i} ${msg.policyVersion} ${ms} ${(used.user + used.system) / 1000}`);
    }
  })();
}

process.on('disconnect', () => process.exit(0)); // the parent is gone (or done): so is this process
