import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { root } from './helpers/cli';
import { readSuites } from './helpers/suites';

const guard = path.join(__dirname, 'helpers', 'in-process.js');
const WHERE = 'the unit suite runs in-process: list the test file under "integration" in test/suites.json';

/** What `node --require in-process.js -e SCRIPT` printed to stderr, and its status. */
function underGuard(script: string) {
  return spawnSync(process.execPath, ['--require', guard, '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

describe('The two speeds of the test suite (test/suites.json)', () => {
  it('lists each integration test file once, with its reason, and leaves the rest to the unit suite', () => {
    const suites = readSuites();
    const { serial, parallel } = suites.listed;
    assert.deepEqual(Object.keys(serial).filter((n) => n in parallel), [], 'a file in both groups');
    for (const [name, why] of Object.entries({ ...serial, ...parallel })) assert.ok(why.length > 10, `${name}: say why it is an integration test`);
    assert.equal(suites.unit.length + suites.parallel.length + suites.serial.length, suites.names.length);
    assert.ok(suites.unit.includes(path.join('dist', 'test', 'gae.test.js')));
    assert.ok(suites.serial.includes(path.join('dist', 'test', 'cluster-netns.test.js')));
  });

  it('refuses a child process, a server, a TCP connection and a ZeroMQ bind under the in-process guard, naming each', () => {
    const cases: [string, string][] = [
      ["require('node:child_process').spawnSync('ls')", 'child_process.spawnSync("ls")'],
      ["require('child_process').exec('true')", 'child_process.exec("true")'],
      ["require('node:http').createServer().listen(0)", 'net.Server.listen (an HTTP or TCP server)'],
      ["require('node:net').connect(9, '127.0.0.1')", 'net.Socket.connect('],
      ["new (require('zeromq').Router)().bindSync('tcp://127.0.0.1:*')", "a ZeroMQ Router socket's bindSync(tcp://127.0.0.1:*)"],
      ["new (require('zeromq').Dealer)().connect('ipc:///tmp/x')", "a ZeroMQ Dealer socket's connect(ipc:///tmp/x)"],
    ];
    for (const [script, what] of cases) {
      const r = underGuard(script);
      assert.notEqual(r.status, 0, script);
      assert.ok(r.stderr.includes(`${what}`) && r.stderr.includes(WHERE), `${script}:\n${r.stderr}`);
    }
  });

  it('lets inproc:// ZeroMQ sockets and the esbuild service through the guard', () => {
    const r = underGuard(
      "const z = require('zeromq'); const s = new z.Pair(); s.bindSync('inproc://x'); s.close();" +
        "require('esbuild').build({ stdin: { contents: 'export const a = 1' }, write: false }).then((b) => { console.log(b.outputFiles.length); process.exit(0); });",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '1\n');
  });
});
