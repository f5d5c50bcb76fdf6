import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { RlError } from '../../core/errors';
import { z85Decode, z85Encode } from './z85';

/**
 * CURVE keys on disk and ZAP authentication: the learner's sockets are CURVE servers, each worker
 * is a CURVE client with its own key pair, and only workers whose public key is in the allowed
 * folder get through.
 */

/** A CURVE key pair as zeromq.js takes it: Z85 text, 40 characters each. */
/** A CURVE key pair, each key 40 Z85 characters (`rl keys generate DIR` writes one). */
export interface KeyPair {
  /** Shared with the peers that should trust it. */
  publicKey: string;
  /** Kept by its owner; never sent. */
  secretKey: string;
}

/** libzmq asks the ZAP handler bound here, in the socket's context, about every CURVE client. */
export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
/** The ZAP domain of our server sockets. */
export const ZAP_DOMAIN = 'rl';

/** Writes DIR/public.key and DIR/secret.key (mode 0600), creating DIR; refuses to overwrite existing keys. */
export function generateKeys(dir: string): KeyPair {
  const publicFile = path.join(dir, 'public.key');
  const secretFile = path.join(dir, 'secret.key');
  for (const file of [publicFile, secretFile]) {
    if (fs.existsSync(file)) throw new RlError(`${file}: exists already; keys are never overwritten (remove both files to make a new pair)`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const pair = zmq.curveKeyPair();
  fs.writeFileSync(secretFile, `${pair.secretKey}\n`, { mode: 0o600, flag: 'wx' });
  fs.writeFileSync(publicFile, `${pair.publicKey}\n`, { mode: 0o644, flag: 'wx' });
  return pair;
}

/**
 * A public key's fingerprint, as ssh writes one: `SHA256:` and the unpadded base64 of the
 * sha256 of its 32 bytes. Safe to print (the public key is not secret either), short to compare.
 */
export function keyFingerprint(publicKey: string): string {
  const raw = z85Decode(publicKey);
  if (!raw) throw new RlError('not a Z85 CURVE public key');
  return `SHA256:${crypto.createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`;
}

/** Reads DIR/public.key and DIR/secret.key, and checks that the public key belongs to the secret one. */
export function readKeyPair(dir: string): KeyPair {
  const publicFile = path.join(dir, 'public.key');
  const secretFile = path.join(dir, 'secret.key');
  const pair = { publicKey: readKey(publicFile), secretKey: readKey(secretFile) };
  warnIfOthersCanRead(secretFile);
  const derived = publicKeyOf(pair.secretKey);
  if (derived !== pair.publicKey) {
    throw new RlError(`${publicFile}: does not belong to ${secretFile} (whose public key is ${derived})`);
  }
  return pair;
}

/** A public key from a file that holds one Z85 key (a public.key, or a worker's key copied elsewhere). */
export function readPublicKey(file: string): string {
  return readKey(file);
}

/** The public keys in a folder of allowed workers: every *.key and *.pub file except secret.key. */
export function readAllowedKeys(dir: string): Set<string> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new RlError(`${dir}: ${describe(e)} (the folder of allowed workers' public keys)`);
  }
  const files = names.filter((n) => (n.endsWith('.key') || n.endsWith('.pub')) && n !== 'secret.key').sort();
  if (files.length === 0) throw new RlError(`${dir}: holds no *.key or *.pub files, so no worker would be allowed`);
  return new Set(files.map((n) => readKey(path.join(dir, n))));
}

/** Options for a CURVE server socket (the learner's ROUTER and PUB). */
export type CurveServerOptions = { curveServer: true; curveSecretKey: string; zapDomain: string; zapEnforceDomain?: boolean };
/** Options for a CURVE client socket (a worker's DEALER and SUB). */
export type CurveClientOptions = { curvePublicKey: string; curveSecretKey: string; curveServerKey: string };

/**
 * The server needs only its secret key. With no ZAP handler bound, libzmq lets in any client that
 * knows the server's public key; zapEnforceDomain (draft API, set where the build has it) makes such a
 * server refuse everybody instead, so a learner that forgot its ZapAuthenticator fails closed.
 */
export function serverCurveOptions(pair: KeyPair): CurveServerOptions {
  const options: CurveServerOptions = { curveServer: true, curveSecretKey: pair.secretKey, zapDomain: ZAP_DOMAIN };
  if (zmq.capability.draft) options.zapEnforceDomain = true;
  return options;
}

export function clientCurveOptions(pair: KeyPair, serverPublicKey: string): CurveClientOptions {
  return { curvePublicKey: pair.publicKey, curveSecretKey: pair.secretKey, curveServerKey: serverPublicKey };
}

let current: ZapAuthenticator | null = null; // the one bound in this process
const MAX_NAMED = 20;

/**
 * A client without CURVE (a worker started with `--insecure`) never reaches the ZAP handler: the
 * server drops it at the handshake, where it would go unnoticed. This names it on the learner's
 * console, once per kind of handshake failure (libzmq names the listening endpoint, not the peer).
 */
export function watchRefusedHandshakes(socket: zmq.Socket, log: (line: string) => void): void {
  const seen = new Set<string>();
  socket.events.on('handshake:error:protocol', ({ address, error }) => {
    const code = (error as { code?: string }).code ?? 'protocol error';
    if (seen.has(code)) return;
    seen.add(code);
    const hint = /MECHANISM_MISMATCH/.test(code) ? 'a worker without CURVE keys (started with --insecure?)' : 'a peer whose CURVE handshake failed';
    log(`refused ${hint} at ${address} (${code}); further ones are not logged`);
  });
}

/**
 * The ZAP handler (RFC 27) of zeromq.js's default context: accepts a CURVE client whose public key is
 * in `allowed` (read on every request, so keys added later count), refuses everything else. One per
 * process: it answers for every socket of the default context.
 */
export class ZapAuthenticator {
  private socket: zmq.Router | null = null;
  private starting: Promise<void> | null = null;
  private stops = 0; // a stop() during start() wins
  private refusals = 0;
  /** The refused keys named so far: each once, and at most MAX_NAMED of them (a peer can make up keys without end). */
  private readonly logged = new Set<string>();

  constructor(
    private readonly allowed: Set<string>,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  /** Handshakes refused so far, one per attempt. */
  get refused(): number {
    return this.refusals;
  }

  start(): Promise<void> {
    this.starting ??= this.bind().catch((e: unknown) => {
      this.starting = null;
      throw e;
    });
    return this.starting;
  }

  stop(): void {
    this.stops++;
    if (current === this) current = null;
    this.socket?.close();
    this.socket = null;
    this.starting = null;
  }

  private async bind(): Promise<void> {
    if (current && current !== this) throw new RlError(`${ZAP_ENDPOINT}: a ZapAuthenticator runs already; only one may run per process`);
    current = this;
    const stops = this.stops;
    // A handler stopped a moment ago may still hold the endpoint while libzmq reaps its socket.
    for (let waitedMs = 0; ; waitedMs += 10) {
      const socket = new zmq.Router({ linger: 0 });
      try {
        await socket.bind(ZAP_ENDPOINT);
        if (stops !== this.stops) return socket.close();
        this.socket = socket;
        void this.serve(socket);
        return;
      } catch (e) {
        socket.close();
        if ((e as { code?: string }).code !== 'EADDRINUSE' || waitedMs >= 2000) {
          current = null;
          throw new RlError(`${ZAP_ENDPOINT}: cannot bind the ZAP handler (${describe(e)})`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (stops !== this.stops) return;
    }
  }

  private async serve(socket: zmq.Router): Promise<void> {
    try {
      for await (const [routingId, delimiter, version, requestId, , address, , mechanism, ...credentials] of socket) {
        const [status, text, userId] = this.decide(String(version), String(mechanism), String(address), credentials);
        await socket.send([routingId, delimiter, '1.0', requestId, status, text, userId, '']);
      }
    } catch (e) {
      if (!socket.closed) throw e; // stop() while a reply was being sent ends the loop; anything else is a bug
    }
  }

  private decide(version: string, mechanism: string, address: string, credentials: Buffer[]): [string, string, string] {
    if (version === '1.0' && mechanism === 'CURVE' && credentials.length === 1 && credentials[0].length === 32) {
      const key = z85Encode(credentials[0]);
      if (this.allowed.has(key)) return ['200', 'OK', key];
      this.refuse(`CURVE key ${key}`, address);
    } else {
      this.refuse(`ZAP ${version} ${mechanism} request`, address);
    }
    return ['400', 'Not an allowed worker', ''];
  }

  private refuse(what: string, address: string): void {
    this.refusals++;
    if (this.logged.has(what) || this.logged.size > MAX_NAMED) return;
    this.logged.add(what);
    if (this.logged.size > MAX_NAMED) return this.log(`ZAP: refused more than ${MAX_NAMED} different keys; further ones are counted, not logged`);
    this.log(`ZAP: refused ${what} from ${address || 'an unknown address'} (not in the allowed keys; further attempts are counted, not logged)`);
  }
}

/** The trimmed key in `file`, checked: 40 Z85 characters. Never echoes the file's text (it may be a secret). */
function readKey(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new RlError(`${file}: ${describe(e)}`);
  }
  const key = text.trim();
  if (key.length !== 40 || z85Decode(key) === null) {
    const found = key.length !== 40 ? `${key.length} characters` : 'characters outside Z85';
    throw new RlError(`${file}: must hold one CURVE key, 40 Z85 characters (found ${found})`);
  }
  return key;
}

/**
 * A secret key that the group or others may read is not secret: said on stderr (as ssh does,
 * though ssh refuses; here a warning, so that a shared or mounted folder keeps working).
 * Group read is not warned of where it is how this process reads the file: another user's
 * file in one of this process's groups, read-only to the group, nothing for others. That is a
 * Kubernetes Secret volume as a pod's non-root user sees it (root's files, the pod's fsGroup,
 * at least 0440 whatever its defaultMode), which no chmod can change.
 */
function warnIfOthersCanRead(file: string): void {
  if (process.platform === 'win32') return; // no POSIX modes
  const st = fs.statSync(file);
  const mode = st.mode & 0o777;
  const readThroughGroup = (mode & 0o027) === 0 && st.uid !== process.getuid?.() && (st.gid === process.getgid?.() || (process.getgroups?.() ?? []).includes(st.gid));
  if ((mode & 0o077) !== 0 && !readThroughGroup) {
    console.warn(`warning: ${file} is readable by others (mode 0${mode.toString(8)}); it holds a secret key: chmod 600 ${file}`);
  }
}

/** The X25519 public key of a Z85 secret key (CURVE keys are X25519 keys). */
function publicKeyOf(secretKey: string): string {
  const pkcs8Prefix = Buffer.from('302e020100300506032b656e04220420', 'hex'); // PKCS#8 wrapper of a raw X25519 key
  const secret = crypto.createPrivateKey({ key: Buffer.concat([pkcs8Prefix, z85Decode(secretKey)!]), format: 'der', type: 'pkcs8' });
  const spki = crypto.createPublicKey(secret).export({ format: 'der', type: 'spki' });
  return z85Encode(spki.subarray(spki.length - 32));
}

function describe(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'missing';
  if (code === 'EACCES') return 'not readable (permission denied)';
  if (code === 'EISDIR') return 'is a folder, not a key file';
  if (code === 'ENOTDIR') return 'is not a folder';
  return e instanceof Error ? e.message : String(e);
}
