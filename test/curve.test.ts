import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import { RlError } from '../core/errors';
import {
  clientCurveOptions,
  generateKeys,
  readAllowedKeys,
  readKeyPair,
  readPublicKey,
  serverCurveOptions,
  ZapAuthenticator,
  type KeyPair,
} from '../src/transport/curve';
import { z85Decode, z85Encode } from '../src/transport/z85';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rl-curve-'));
const z85Key = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

describe('Z85', () => {
  it('encodes the RFC 32 test vector 86 4F D2 6F B5 59 F7 5B as "HelloWorld" and decodes it back', () => {
    const bytes = Uint8Array.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    assert.equal(z85Encode(bytes), 'HelloWorld');
    assert.deepEqual(z85Decode('HelloWorld'), bytes);
  });

  it('decodes a zeromq key pair to 32 bytes each and rejects text that is not Z85', () => {
    const { publicKey, secretKey } = zmq.curveKeyPair();
    for (const key of [publicKey, secretKey]) {
      const bytes = z85Decode(key);
      assert.equal(bytes?.length, 32);
      assert.equal(z85Encode(bytes!), key);
    }
    assert.equal(z85Decode('Hello World'), null); // 11 characters
    assert.equal(z85Decode('Hello"orld'), null); // '"' is not in the alphabet
    assert.equal(z85Decode('#####'), null); // 84 * (85^4 + ... + 1) overflows 32 bits
  });
});

describe('CURVE key files', () => {
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('generateKeys writes two 40-character Z85 keys that readKeyPair reads back, the secret one with mode 0600', () => {
    const dir = path.join(tmp, 'gen', 'learner');
    const pair = generateKeys(dir);
    assert.match(pair.publicKey, z85Key);
    assert.match(pair.secretKey, z85Key);
    assert.notEqual(pair.publicKey, pair.secretKey);
    assert.deepEqual(readKeyPair(dir), pair);
    assert.equal(readPublicKey(path.join(dir, 'public.key')), pair.publicKey);
    assert.equal(fs.statSync(path.join(dir, 'secret.key')).mode & 0o777, 0o600);
  });

  it('generateKeys refuses to overwrite an existing key pair, and leaves it as it was', () => {
    const dir = path.join(tmp, 'twice');
    const pair = generateKeys(dir);
    const file = path.join(dir, 'public.key');
    assert.throws(() => generateKeys(dir), (e: unknown) => e instanceof RlError && e.message === `${file}: exists already; keys are never overwritten (remove both files to make a new pair)`);
    assert.deepEqual(readKeyPair(dir), pair);
  });

  it('readKeyPair names the missing file', () => {
    const dir = path.join(tmp, 'half');
    generateKeys(dir);
    fs.rmSync(path.join(dir, 'secret.key'));
    assert.throws(() => readKeyPair(dir), { name: 'RlError', message: `${path.join(dir, 'secret.key')}: missing` });
    assert.throws(() => readKeyPair(path.join(tmp, 'nowhere')), { message: `${path.join(tmp, 'nowhere', 'public.key')}: missing` });
  });

  it('readKeyPair names the file and the rule for a malformed key, without echoing the secret', () => {
    const dir = path.join(tmp, 'malformed');
    const pair = generateKeys(dir);
    const secretFile = path.join(dir, 'secret.key');
    fs.writeFileSync(secretFile, pair.secretKey.slice(0, 30));
    assert.throws(() => readKeyPair(dir), { message: `${secretFile}: must hold one CURVE key, 40 Z85 characters (found 30 characters)` });
    fs.writeFileSync(secretFile, `${pair.secretKey.slice(0, 39)}"\n`);
    assert.throws(() => readKeyPair(dir), (e: unknown) => {
      assert.ok(e instanceof RlError);
      assert.equal(e.message, `${secretFile}: must hold one CURVE key, 40 Z85 characters (found characters outside Z85)`);
      assert.ok(!e.message.includes(pair.secretKey.slice(0, 10)));
      return true;
    });
  });

  it('readKeyPair refuses a public key that does not belong to the secret key', () => {
    const dir = path.join(tmp, 'mismatch');
    generateKeys(dir);
    const other = zmq.curveKeyPair();
    fs.writeFileSync(path.join(dir, 'public.key'), `${other.publicKey}\n`);
    assert.throws(() => readKeyPair(dir), { message: new RegExp(`^${escape(path.join(dir, 'public.key'))}: does not belong to ${escape(path.join(dir, 'secret.key'))} \\(whose public key is .{40}\\)$`) });
  });

  it('readAllowedKeys collects the public keys of a folder, skipping secret.key and other files', () => {
    const dir = path.join(tmp, 'allowed');
    const a = generateKeys(dir); // public.key and secret.key: the secret one is skipped
    const b = zmq.curveKeyPair();
    const c = zmq.curveKeyPair();
    fs.writeFileSync(path.join(dir, 'worker-b.pub'), `  ${b.publicKey}\n\n`);
    fs.writeFileSync(path.join(dir, 'worker-c.key'), c.publicKey);
    fs.writeFileSync(path.join(dir, 'README.md'), 'not a key');
    assert.deepEqual(readAllowedKeys(dir), new Set([a.publicKey, b.publicKey, c.publicKey]));
    fs.writeFileSync(path.join(dir, 'worker-d.pub'), 'nonsense');
    assert.throws(() => readAllowedKeys(dir), { message: `${path.join(dir, 'worker-d.pub')}: must hold one CURVE key, 40 Z85 characters (found 8 characters)` });
  });

  it('readAllowedKeys names a missing folder and a folder without keys', () => {
    assert.throws(() => readAllowedKeys(path.join(tmp, 'none')), { message: `${path.join(tmp, 'none')}: missing (the folder of allowed workers' public keys)` });
    fs.mkdirSync(path.join(tmp, 'empty'));
    assert.throws(() => readAllowedKeys(path.join(tmp, 'empty')), { message: `${path.join(tmp, 'empty')}: holds no *.key or *.pub files, so no worker would be allowed` });
  });
});

describe('ZAP authentication over tcp://127.0.0.1', () => {
  let server: KeyPair;
  let worker: KeyPair; // allowed
  let stranger: KeyPair; // a valid key pair that is not allowed
  let auth: ZapAuthenticator;
  let logged: string[];
  let sockets: zmq.Socket[];

  function open<S extends zmq.Socket>(socket: S): S {
    socket.linger = 0;
    sockets.push(socket);
    return socket;
  }

  async function bound<S extends zmq.Socket & { bind(a: string): Promise<void> }>(socket: S): Promise<string> {
    await socket.bind('tcp://127.0.0.1:*');
    return socket.lastEndpoint!;
  }

  beforeEach(async () => {
    server = zmq.curveKeyPair();
    worker = zmq.curveKeyPair();
    stranger = zmq.curveKeyPair();
    logged = [];
    sockets = [];
    auth = new ZapAuthenticator(new Set([worker.publicKey]), (msg) => logged.push(msg));
    await Promise.all([auth.start(), auth.start()]);
  });

  afterEach(() => {
    for (const s of sockets) s.close();
    auth.stop();
    auth.stop();
  });

  it('lets an allowed DEALER reach the CURVE ROUTER, and the reply reach the DEALER', async () => {
    const router = open(new zmq.Router(serverCurveOptions(server)));
    const endpoint = await bound(router);
    const dealer = open(new zmq.Dealer(clientCurveOptions(worker, server.publicKey)));
    dealer.connect(endpoint);
    await dealer.send('hello');
    router.receiveTimeout = 5000;
    const [id, body] = await router.receive();
    assert.equal(body.toString(), 'hello');
    await router.send([id, 'welcome']);
    dealer.receiveTimeout = 5000;
    assert.deepEqual((await dealer.receive()).map(String), ['welcome']);
    assert.equal(auth.refused, 0);
    assert.deepEqual(logged, []);
  });

  it('gets nothing through from a DEALER whose key is not allowed, and counts and logs the refusal', async () => {
    const router = open(new zmq.Router(serverCurveOptions(server)));
    const endpoint = await bound(router);
    const dealer = open(new zmq.Dealer({ ...clientCurveOptions(stranger, server.publicKey), sendTimeout: 1000 }));
    dealer.connect(endpoint);
    await dealer.send('let me in');
    assert.equal(await receiveWithin(router, 1000), null);
    assert.ok(auth.refused >= 1, `refused is ${auth.refused}`);
    assert.equal(logged.length, 1); // once per key, however often the client retries
    assert.match(logged[0], new RegExp(`^ZAP: refused CURVE key ${escape(stranger.publicKey)} from 127\\.0\\.0\\.1 `));
  });

  it('gets nothing through from a DEALER without CURVE (dropped at the handshake, before ZAP)', async () => {
    const router = open(new zmq.Router(serverCurveOptions(server)));
    const endpoint = await bound(router);
    const dealer = open(new zmq.Dealer({ sendTimeout: 1000 }));
    dealer.connect(endpoint);
    await dealer.send('plain text');
    assert.equal(await receiveWithin(router, 1000), null);
    assert.equal(auth.refused, 0);
  });

  it('delivers a CURVE PUB to an allowed SUB, and nothing to a SUB that is not allowed or has no CURVE', async () => {
    const pub = open(new zmq.Publisher(serverCurveOptions(server)));
    const endpoint = await bound(pub);
    const allowed = open(new zmq.Subscriber(clientCurveOptions(worker, server.publicKey)));
    const refused = open(new zmq.Subscriber(clientCurveOptions(stranger, server.publicKey)));
    const plain = open(new zmq.Subscriber());
    for (const sub of [allowed, refused, plain]) {
      sub.subscribe();
      sub.connect(endpoint);
    }
    // PUB drops what it sends before a subscriber has joined, so keep publishing while the three listen.
    const ticker = setInterval(() => void pub.send('weights v1').catch(() => {}), 50);
    try {
      const [got, refusedGot, plainGot] = await Promise.all([receiveWithin(allowed, 5000), receiveWithin(refused, 1500), receiveWithin(plain, 1500)]);
      assert.deepEqual(got?.map(String), ['weights v1']);
      assert.equal(refusedGot, null);
      assert.equal(plainGot, null);
    } finally {
      clearInterval(ticker);
    }
    assert.ok(auth.refused >= 1, `refused is ${auth.refused}`);
    assert.equal(logged.length, 1);
    assert.ok(logged[0].includes(stranger.publicKey));
  });

  it('refuses even an allowed key while no ZapAuthenticator runs (the server fails closed)', async function () {
    if (!zmq.capability.draft) this.skip(); // zapEnforceDomain is draft API
    auth.stop();
    const router = open(new zmq.Router(serverCurveOptions(server)));
    const endpoint = await bound(router);
    const dealer = open(new zmq.Dealer({ ...clientCurveOptions(worker, server.publicKey), sendTimeout: 1000 }));
    dealer.connect(endpoint);
    await dealer.send('anyone home?');
    assert.equal(await receiveWithin(router, 1000), null);
  });

  it('starts again after stop, and a second authenticator in the same process is refused with a clear error', async () => {
    auth.stop();
    await auth.start();
    const second = new ZapAuthenticator(new Set());
    await assert.rejects(second.start(), { name: 'RlError', message: 'inproc://zeromq.zap.01: a ZapAuthenticator runs already; only one may run per process' });
    second.stop();
    const router = open(new zmq.Router(serverCurveOptions(server)));
    const endpoint = await bound(router);
    const dealer = open(new zmq.Dealer(clientCurveOptions(worker, server.publicKey)));
    dealer.connect(endpoint);
    await dealer.send('again');
    assert.deepEqual((await receiveWithin(router, 5000))?.[1].toString(), 'again');
  });
});

/** The next message, or null when none comes within `ms`. */
async function receiveWithin(socket: zmq.Readable, ms: number): Promise<Buffer[] | null> {
  socket.receiveTimeout = ms;
  try {
    return await socket.receive();
  } catch (e) {
    if ((e as { code?: string }).code === 'EAGAIN') return null;
    throw e;
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
