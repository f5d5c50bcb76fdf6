import * as zmq from 'zeromq';
import { clientCurveOptions, type CurveClientOptions, type KeyPair } from '../transport/curve';
import { DEFAULT_MAX_MESSAGE_BYTES, decodeLearnerMessage, encode, MessageRejected, type LearnerMessage, type WorkerMessage } from '../transport/protocol';
import { parseTcpEndpoint } from '../transport/endpoint';
import { SendQueue } from '../transport/send-queue';

export interface LearnerLinkOptions {
  connect: string;
  curve?: { pair: KeyPair; learnerKey: string };
  log: (line: string) => void;
  /** Each well-formed message; `sub` is the weights socket it came on (null: the DEALER). */
  onMessage: (msg: LearnerMessage, sub: zmq.Subscriber | null) => void;
  /** A misconfiguration the worker cannot get past (said already): it stops, with exit code 3. */
  onFatal: () => void;
  /** A bug of ours while handling a message. */
  onError: (err: unknown) => void;
}

/**
 * A worker's connection to its learner: the DEALER (what its handshakes say about a
 * misconfiguration), the weights broadcast sockets, decoding, and the count of what was
 * dropped. Knows nothing of runs: messages go to `onMessage`.
 */
export class LearnerLink {
  private readonly dealer: zmq.Dealer;
  private readonly out: SendQueue;
  /** When the learner last sent anything on the DEALER. */
  lastHeard = Date.now();
  private readonly handshakes = { ok: 0, failed: 0 };
  private readonly warned = new Set<string>();
  /** Malformed messages dropped, by kind (and link). */
  private readonly dropped = new Map<string, number>();

  constructor(private readonly opts: LearnerLinkOptions) {
    // A small queue: while the learner is away, heartbeats are skipped rather than piled up.
    // maxMessageSize: libzmq drops a frame far over the protocol's limit before it is read.
    this.dealer = new zmq.Dealer({ linger: 0, sendHighWaterMark: 10, maxMessageSize: 2 * DEFAULT_MAX_MESSAGE_BYTES, ...this.curve() });
    this.out = new SendQueue(this.dealer);
  }

  connect(): void {
    this.watchHandshakes();
    this.dealer.connect(this.opts.connect);
    this.listen(this.dealer, null);
  }

  send(msg: WorkerMessage): void {
    void this.out.send(encode(msg));
  }

  /** Messages queued, not yet taken by the learner. */
  get pending(): number {
    return this.out.pending;
  }

  /** A socket on the learner's weights broadcast (`advertised`, reached through the host connected to); its messages come to `onMessage`. */
  subscribe(advertised: string): zmq.Subscriber {
    const sub = new zmq.Subscriber({ linger: 0, maxMessageSize: 2 * DEFAULT_MAX_MESSAGE_BYTES, ...this.curve() });
    sub.connect(this.pubEndpoint(advertised));
    sub.subscribe();
    this.listen(sub, sub);
    return sub;
  }

  /** A remote learner's PUB endpoint is reached through the host this worker connected to. */
  pubEndpoint(advertised: string): string {
    const pub = parseTcpEndpoint(advertised);
    const learner = parseTcpEndpoint(this.opts.connect);
    return pub && learner ? `tcp://${learner.host}:${pub.port}` : advertised;
  }

  /** Why the learner may be silent, when no connection was ever made ('' otherwise). */
  silenceHint(): string {
    return this.handshakes.ok === 0 && !this.opts.connect.startsWith('ipc://') ? ' (no connection has been made: is a learner bound there, and the port open?)' : '';
  }

  /** A malformed message dropped: counted by kind and link, the first of each said. */
  drop(kind: string, message: string, broadcast: boolean): void {
    const key = broadcast ? `broadcast ${kind}` : kind;
    const n = (this.dropped.get(key) ?? 0) + 1;
    this.dropped.set(key, n);
    if (n === 1) this.opts.log(`worker: dropped a malformed ${broadcast ? 'broadcast' : 'message'} from the learner (${kind}): ${message} (further ones of this kind are not shown)`);
  }

  warnOnce(key: string, line: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.opts.log(line);
  }

  /** Says how many messages were dropped, if any, and closes the DEALER once what is queued has had `ms` to go out. */
  async close(ms = 50): Promise<void> {
    const dropped = [...this.dropped].map(([kind, n]) => `${kind} ${n}`);
    if (dropped.length > 0) this.opts.log(`worker: malformed messages dropped, by kind: ${dropped.join(', ')}`);
    await new Promise((r) => setTimeout(r, ms));
    this.dealer.close();
  }

  private curve(): CurveClientOptions | Record<string, never> {
    return this.opts.curve ? clientCurveOptions(this.opts.curve.pair, this.opts.curve.learnerKey) : {};
  }

  /** Decodes each message of `socket` and hands it on; a malformed one is dropped. */
  private listen(socket: zmq.Dealer | zmq.Subscriber, sub: zmq.Subscriber | null): void {
    void (async () => {
      for await (const [payload] of socket) {
        let msg: LearnerMessage;
        try {
          msg = decodeLearnerMessage(payload);
        } catch (err) {
          if (!(err instanceof MessageRejected)) throw err;
          this.drop(err.kind, err.message, sub !== null);
          continue;
        }
        if (!sub) this.lastHeard = Date.now();
        this.opts.onMessage(msg, sub);
      }
    })().catch(this.opts.onError);
  }

  /**
   * What the handshake events say about a misconfiguration, said once each, at once: a
   * refused key (stop), a mechanism mismatch (CURVE on one side only: stop), a CURVE
   * handshake that keeps failing (most likely the wrong --learner-key: keep trying).
   */
  private watchHandshakes(): void {
    const at = this.opts.connect;
    const fatal = (line: string) => {
      this.opts.log(line);
      this.opts.onFatal();
    };
    // A CURVE learner that refuses this worker's key answers the handshake with 400; without
    // this the worker would wait forever with its hello queued.
    this.dealer.events.on('handshake:error:auth', () => fatal(`worker: the learner at ${at} refused this worker's key (not in its --allowed-keys); stopping`));
    this.dealer.events.on('handshake', () => (this.handshakes.ok += 1));
    this.dealer.events.on('handshake:error:protocol', (e) => {
      if (e.error.code !== 'ERR_ZMTP_MECHANISM_MISMATCH') return this.warnOnce('protocol', `worker: the handshake with ${at} failed (${e.error.code}); is it an rl learner's --bind address?`);
      fatal(
        this.opts.curve
          ? `worker: the learner at ${at} does not use CURVE, and this worker does (--keys); start both with keys, or both without (--insecure); stopping`
          : `worker: the learner at ${at} uses CURVE and this worker does not: give --keys DIR and --learner-key FILE (the learner's public.key), not --insecure; stopping`,
      );
    });
    this.dealer.events.on('handshake:error:other', () => {
      this.handshakes.failed += 1;
      if (this.opts.curve && this.handshakes.ok === 0 && this.handshakes.failed >= 2) {
        this.warnOnce(
          'curve',
          `worker: the learner at ${at} takes the connection but the CURVE handshake fails (${this.handshakes.failed} times): ` +
            "most likely --learner-key is not that learner's public.key (or the learner's --keys changed); still trying",
        );
      }
    });
  }
}
