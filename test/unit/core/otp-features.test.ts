// Feature detection for OTP releases newer than 25, against the replies each release gives.
// OTP 25's replies were recorded here from a live node (the integration test checks them live
// too); OTP 26-28's follow their documentation and release notes (none can be installed here).
import { strict as assert } from 'node:assert';
import { RpcError } from '../../../src/erldist/errors';
import { Atom, ErlMap, Pid, Term, Tuple } from '../../../src/etf';
import { detectFeatures } from '../../../src/core/target/otp-features';
import type { RpcChannel } from '../../../src/core/target/rpc';

const init = new Pid(Atom.of('n@h'), 0, 0, 1);
const charlist = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const badarg = (): never => {
  throw new RpcError('rpc failed: badarg', '{\'EXIT\',{badarg,...}}');
};

interface Release {
  release: string;
  iterator: boolean;
  dictKey: boolean;
  label: boolean;
  trace: boolean;
  mapBindings: boolean;
}

function fakeNode(r: Release): RpcChannel & { calls: string[] } {
  const calls: string[] = [];
  return {
    peer: 'n@h',
    calls,
    rpc(m: string, f: string, args: Term[]): Promise<Term> {
      calls.push(`${m}:${f}`);
      return Promise.resolve().then((): Term => {
        const key = `${m}:${f}`;
        if (key === 'erlang:whereis') return init;
        if (key === 'erlang:system_info') return charlist(r.release);
        if (key === 'erlang:function_exported') return Atom.of((args[1] as Atom).name === 'processes_iterator' && r.iterator ? 'true' : 'false');
        if (key === 'erlang:process_info') {
          const item = args[1] as Term;
          if (item instanceof Tuple) return r.dictKey ? new Tuple([item, Atom.of('undefined')]) : badarg();
          return r.label ? new Tuple([Atom.of('label'), Atom.of('undefined')]) : badarg();
        }
        if (key === 'code:which') return r.trace ? charlist('/usr/lib/erlang/lib/kernel-10.0/ebin/trace.beam') : Atom.of('non_existing');
        if (key === 'erl_eval:new_bindings') return r.mapBindings ? new ErlMap([]) : [];
        throw new Error(`unexpected rpc ${key}`);
      });
    },
  };
}

describe('OTP feature detection', () => {
  it('OTP 25 (recorded here): nothing newer', async () => {
    const node = fakeNode({ release: '25', iterator: false, dictKey: false, label: false, trace: false, mapBindings: false });
    assert.deepEqual(await detectFeatures(node), {
      otpRelease: '25',
      processesIterator: false,
      dictionaryKey: false,
      processLabel: false,
      traceSessions: false,
      evalBindingsAsMap: false,
    });
    // Nothing that would load a module on the node (code:which reads the path only).
    assert.ok(!node.calls.some((c) => c.startsWith('code:ensure_loaded') || c.startsWith('trace:')));
  });

  it('OTP 26.2: one dictionary key, map bindings', async () => {
    const f = await detectFeatures(fakeNode({ release: '26', iterator: false, dictKey: true, label: false, trace: false, mapBindings: true }));
    assert.equal(f.dictionaryKey, true);
    assert.equal(f.evalBindingsAsMap, true);
    assert.equal(f.processLabel, false);
    assert.equal(f.processesIterator, false);
  });

  it('OTP 27.2: process labels and trace sessions', async () => {
    const f = await detectFeatures(fakeNode({ release: '27', iterator: false, dictKey: true, label: true, trace: true, mapBindings: true }));
    assert.equal(f.processLabel, true);
    assert.equal(f.traceSessions, true);
    assert.equal(f.processesIterator, false);
  });

  it('OTP 28: the processes iterator', async () => {
    const f = await detectFeatures(fakeNode({ release: '28', iterator: true, dictKey: true, label: true, trace: true, mapBindings: true }));
    assert.equal(f.processesIterator, true);
    assert.equal(f.otpRelease, '28');
  });

  it('each capability is detected on its own, not from the release number', async () => {
    // A 25 that answers like 28 (a backport, a fork): the capabilities win.
    const f = await detectFeatures(fakeNode({ release: '25', iterator: true, dictKey: false, label: true, trace: false, mapBindings: false }));
    assert.equal(f.processesIterator, true);
    assert.equal(f.processLabel, true);
    assert.equal(f.dictionaryKey, false);
  });
});
