// What BEAM Lens leaves on a node: after detach the set of loaded modules is what it was before,
// whichever way the probe loaded (precompiled .beam, compiled on the target as the fallback for a
// refused .beam, not at all), on fresh nodes. And work we stop waiting for stops on the node.
import { strict as assert } from 'node:assert';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type NodeConnection } from '../../../src/erldist';
import { Atom, Tuple, isAtom, type Term } from '../../../src/etf';
import { factsCollector } from '../../../src/core/facts/runtime-facts';
import { Attachment } from '../../../src/core/attach/attachment';
import { RemoteEvaluator } from '../../../src/core/target/remote-eval';
import { detectFeatures } from '../../../src/core/target/otp-features';
import { startNode, waitFor, type TestNode } from '../harness';

const root = path.join(__dirname, '../../..');

/** code:all_loaded() through rex alone (no erl_eval: the admin connection must load nothing itself). */
async function allLoaded(conn: NodeConnection): Promise<string[]> {
  const list = (await conn.rpc('code', 'all_loaded', [])) as Term[];
  return list
    .map((t) => {
      const [m, f] = (t as Tuple).elements;
      const file = Array.isArray(f) ? String.fromCodePoint(...(f as number[])) : (f as Atom).name;
      return `${(m as Atom).name} ${file}`;
    })
    .sort();
}

/** A plain connection, once the node has finished booting (its loaded set stable for 500 ms). */
async function plainConn(node: TestNode): Promise<NodeConnection> {
  const conn = await connect({ node: node.node, cookie: node.cookie });
  let last = '';
  let since = Date.now();
  await waitFor(
    async () => {
      const now = (await allLoaded(conn)).join(',');
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      return Date.now() - since >= 500;
    },
    30_000,
    `${node.node} to finish loading its boot modules`,
  );
  return conn;
}

/** Everything a session does with the probe (or without): pages, facts, tree, then detach. */
async function useAndDetach(node: TestNode, options: { allowProbe: boolean; probeDir?: string }): Promise<Attachment> {
  const conn = await connect({ node: node.node, cookie: node.cookie });
  const s = new Attachment(conn, { env: 'local', grants: { allowProbe: options.allowProbe }, ...(options.probeDir ? { probeDir: options.probeDir } : {}) });
  try {
    if (options.allowProbe) await s.loadProbe();
    await s.processes({ sort: 'memory', limit: 10, offset: 0 });
    await s.processes({ sort: 'reduction-rate', limit: 5, offset: 0, windowMs: 100 });
    await factsCollector(s).collect();
    await s.overview({ utilizationWindowMs: 50 });
  } finally {
    await s.detach();
  }
  return s;
}

describe('what BEAM Lens leaves on the node', function () {
  this.timeout(180_000);

  for (const way of ['precompiled', 'compiled-on-target', 'zero-install'] as const) {
    it(`${way}: after detach code:all_loaded() is exactly what it was (fresh node)`, async () => {
      const node = await startNode();
      const dir = mkdtempSync(path.join(tmpdir(), 'bl-probe-'));
      try {
        const admin = await plainConn(node);
        const before = await allLoaded(admin);
        let probeDir: string | undefined;
        if (way === 'compiled-on-target') {
          // Force the fallback: a .beam the node refuses ({error, badfile}) next to the source.
          copyFileSync(path.join(root, 'probe/beam_lens_probe.erl'), path.join(dir, 'beam_lens_probe.erl'));
          writeFileSync(path.join(dir, 'beam_lens_probe.beam'), Buffer.from('FOR1 this is not a beam file'));
          probeDir = dir;
        }
        const conn = await connect({ node: node.node, cookie: node.cookie });
        const s = new Attachment(conn, { env: 'local', grants: { allowProbe: way !== 'zero-install' }, ...(probeDir ? { probeDir } : {}) });
        try {
          if (way !== 'zero-install') {
            const status = await s.loadProbe();
            assert.equal(status.state, 'loaded');
            if (status.state !== 'loaded') return;
            assert.equal(status.how, way);
            if (way === 'compiled-on-target') {
              assert.match(status.fallbackReason ?? '', /refused the precompiled probe.*badfile/);
              assert.ok(status.compilerModules?.removed.includes('compile'), `compile removed again: ${JSON.stringify(status.compilerModules)}`);
              assert.deepEqual(status.compilerModules?.kept, []);
              // The compiler's modules are gone already while the probe is loaded.
              assert.ok(isAtom(await admin.rpc('erlang', 'module_loaded', [Atom.of('compile')]), 'false'));
            } else {
              assert.ok(isAtom(await admin.rpc('erlang', 'module_loaded', [Atom.of('compile')]), 'false'), 'no compiler loaded');
            }
            assert.ok(isAtom(await admin.rpc('erlang', 'module_loaded', [Atom.of('beam_lens_probe')]), 'true'));
          }
          await s.processes({ sort: 'memory', limit: 10, offset: 0 });
          await s.processes({ sort: 'reduction-rate', limit: 5, offset: 0, windowMs: 100 });
          await factsCollector(s).collect();
          await s.overview({ utilizationWindowMs: 50 });
        } finally {
          await s.detach();
        }
        const after = await allLoaded(admin);
        assert.deepEqual(after, before, 'the same modules, from the same files');
        assert.ok(isAtom(await admin.rpc('erlang', 'check_old_code', [Atom.of('beam_lens_probe')]), 'false'));
        assert.ok((s.modulesRestored?.removed.length ?? 0) > 0, 'our zero-install work had loaded modules (erl_scan, ...) and removed them');
        await admin.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await node.stop();
      }
    });
  }

  it('feature detection on this node, live, loads nothing', async () => {
    const node = await startNode();
    try {
      const admin = await plainConn(node);
      const before = await allLoaded(admin);
      const f = await detectFeatures(admin);
      const release = Number(f.otpRelease);
      assert.ok(release >= 21, f.otpRelease);
      // What each capability must be on the releases we know (this machine has OTP 25).
      if (release <= 25) assert.deepEqual({ ...f, otpRelease: '' }, { otpRelease: '', processesIterator: false, dictionaryKey: false, processLabel: false, traceSessions: false, evalBindingsAsMap: false });
      if (release >= 28) assert.equal(f.processesIterator, true);
      assert.deepEqual(await allLoaded(admin), before);
      await admin.close();
    } finally {
      await node.stop();
    }
  });

  it('a second session on the same node leaves it as it was too', async () => {
    const node = await startNode();
    try {
      const admin = await plainConn(node);
      const before = await allLoaded(admin);
      await useAndDetach(node, { allowProbe: true });
      await useAndDetach(node, { allowProbe: false });
      assert.deepEqual(await allLoaded(admin), before);
      await admin.close();
    } finally {
      await node.stop();
    }
  });

  describe('work we stop waiting for stops on the node', () => {
    let node: TestNode;
    before(async () => {
      node = await startNode();
    });
    after(async () => {
      await node?.stop();
    });

    // A busy interpreted loop that registers itself, so the test can see whether it still runs.
    const spin = (name: string): string => `register(${name}, self()), Loop = fun L(N) -> L(N + 1) end, Loop(0).`;
    const gone = async (name: string): Promise<void> => {
      await waitFor(async () => isAtom(await node.eval(`whereis(${name}).`), 'undefined'), 10_000, `${name} to stop on the node`);
    };

    it('atoms of 255 characters taking 1,020 bytes cross the wire both ways', async () => {
      const conn = await connect({ node: node.node, cookie: node.cookie });
      const long = '\u{1F600}'.repeat(255);
      // Ours to the node: it sees 255 characters; the node's to us: the same atom back.
      assert.equal(await conn.rpc('erlang', 'atom_to_list', [Atom.of(long)]).then((l) => (l as number[]).length), 255);
      const back = await conn.rpc('erlang', 'list_to_atom', [[...long].map((c) => c.codePointAt(0) as number)]);
      assert.equal((back as Atom).name, long);
      await conn.close();
    });

    it('on timeout', async () => {
      const conn = await connect({ node: node.node, cookie: node.cookie });
      const ev = new RemoteEvaluator(conn);
      await assert.rejects(ev.eval(spin('bl_spin_timeout'), {}, 500), /did not answer within 500 ms/);
      await gone('bl_spin_timeout');
      await conn.close();
    });

    it('on cancel', async () => {
      const conn = await connect({ node: node.node, cookie: node.cookie });
      const ev = new RemoteEvaluator(conn);
      const ac = new AbortController();
      const running = ev.eval(spin('bl_spin_cancel'), {}, { timeoutMs: 60_000, signal: ac.signal });
      await waitFor(async () => !isAtom(await node.eval(`whereis(bl_spin_cancel).`), 'undefined'), 10_000, 'the loop to start');
      ac.abort(new Error('cancelled by the test'));
      await assert.rejects(running, /cancelled by the test/);
      await gone('bl_spin_cancel');
      await conn.close();
    });

    it('when our connection drops', async () => {
      const conn = await connect({ node: node.node, cookie: node.cookie });
      const ev = new RemoteEvaluator(conn);
      const running = ev.eval(spin('bl_spin_drop'), {}, 60_000).catch((e: unknown) => e);
      await waitFor(async () => !isAtom(await node.eval(`whereis(bl_spin_drop).`), 'undefined'), 10_000, 'the loop to start');
      (conn as unknown as { socket: { destroy(): void } }).socket.destroy();
      await gone('bl_spin_drop');
      assert.ok((await running) instanceof Error);
    });

    it('a probe call that times out is stopped too', async () => {
      const conn = await connect({ node: node.node, cookie: node.cookie });
      const s = new Attachment(conn, { env: 'local', grants: { allowProbe: true } });
      try {
        assert.equal((await s.loadProbe()).state, 'loaded');
        // reduction_window blocks for its window: give up long before it ends.
        await assert.rejects(s.evaluator.call('beam_lens_probe', 'reduction_window', [0, 5, 30_000, []], { timeoutMs: 300 }), /did not answer/);
        await waitFor(
          async () => {
            const inProbe = await node.eval(`[P || P <- erlang:processes(), {current_function, {beam_lens_probe, reduction_window, _}} <- [erlang:process_info(P, current_function)]].`);
            return Array.isArray(inProbe) && inProbe.length === 0;
          },
          10_000,
          'no process left in reduction_window',
        );
      } finally {
        await s.detach();
      }
    });
  });
});
