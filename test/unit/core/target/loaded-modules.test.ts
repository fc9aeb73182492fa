// The record of loaded modules shared by the scopes that reach a node through another (cluster
// members through their entry), against a fake node that answers the rpcs restoreLoadedModules
// makes: the first holder's record is the one restored to, only when the last holder ends, and a
// large node keeps the modules and says why (the CLI names them on stderr).
import { strict as assert } from 'node:assert';
import { Atom, Tuple, type Term } from '../../../../src/etf';
import { ModuleBaselines, SharedModuleBaselines } from '../../../../src/core/target/loaded-modules';
import type { RpcChannel } from '../../../../src/core/target/rpc';
import { reportModulesKept } from '../../../../src/cli/attachment';
import type { Output } from '../../../../src/cli/output';

const LIB = '/usr/lib/erlang/lib';
const chars = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** A node whose loaded modules the test changes; deletes and purges as code:delete/soft_purge would. */
function fakeNode(peer: string, loaded: string[], processes = 50): RpcChannel & { loaded: Set<string>; calls: string[] } {
  const state = { loaded: new Set(loaded), calls: [] as string[] };
  return {
    peer,
    get loaded() {
      return state.loaded;
    },
    get calls() {
      return state.calls;
    },
    rpc(module: string, fun: string, args: Term[]): Promise<Term> {
      state.calls.push(`${module}:${fun}`);
      const name = args[0] instanceof Atom ? args[0].name : '';
      const key = `${module}:${fun}`;
      switch (key) {
        case 'erlang:loaded':
          return Promise.resolve([...state.loaded].map((m) => Atom.of(m)));
        case 'erlang:system_info':
          return Promise.resolve(processes);
        case 'code:get_mode':
          return Promise.resolve(Atom.of('interactive'));
        case 'code:lib_dir':
          return Promise.resolve(chars(LIB));
        case 'erlang:function_exported':
          return Promise.resolve(Atom.of('true'));
        case 'code:which':
          return Promise.resolve(chars(`${LIB}/stdlib-4.2/ebin/${name}.beam`));
        case 'erlang:check_old_code':
          return Promise.resolve(Atom.of('false'));
        case 'code:delete':
          state.loaded.delete(name);
          return Promise.resolve(Atom.of('true'));
        case 'erts_code_purger:soft_purge':
          return Promise.resolve(Atom.of('true'));
        default:
          return Promise.resolve(new Tuple([Atom.of('badrpc'), Atom.of('undef')]));
      }
    },
  };
}

describe('shared record of loaded modules (members through the entry)', () => {
  it('restores to the first holder\'s record, once, when the last holder ends', async () => {
    const node = fakeNode('m@h', ['kernel', 'erl_eval']);
    const shared = new SharedModuleBaselines(new ModuleBaselines());
    assert.deepEqual([...((await shared.acquire(node)) ?? [])].sort(), ['erl_eval', 'kernel']);
    node.loaded.add('erl_scan');
    // A second view opened while the first one's work is loaded shares the first record.
    assert.deepEqual([...((await shared.acquire(node)) ?? [])].sort(), ['erl_eval', 'kernel']);
    node.loaded.add('sys');
    assert.equal(await shared.release('m@h'), null, 'another holder still reads the node');
    assert.ok(node.loaded.has('erl_scan') && node.loaded.has('sys'), 'nothing taken away under the other holder');
    const restored = await shared.release('m@h');
    assert.deepEqual(restored, { removed: ['erl_scan', 'sys'], kept: [] });
    assert.deepEqual([...node.loaded].sort(), ['erl_eval', 'kernel']);
    assert.deepEqual(shared.restored, [{ node: 'm@h', restored }]);
    assert.equal(await shared.release('m@h'), null, 'released once more: nothing');
  });

  it('releaseAll restores what holders left held; the probe module is kept', async () => {
    const a = fakeNode('a@h', ['kernel']);
    const b = fakeNode('b@h', ['kernel']);
    const shared = new SharedModuleBaselines(new ModuleBaselines());
    await Promise.all([shared.acquire(a), shared.acquire(b), shared.acquire(b)]);
    a.loaded.add('erl_scan');
    b.loaded.add('beam_lens_probe');
    const all = await shared.releaseAll(new Set(['beam_lens_probe']));
    assert.deepEqual(all, [
      { node: 'a@h', restored: { removed: ['erl_scan'], kept: [] } },
      { node: 'b@h', restored: { removed: [], kept: [] } },
    ]);
    assert.ok(b.loaded.has('beam_lens_probe'));
  });

  it('one record per node for the process: a direct attachment and a cluster view through the entry share it, whichever ends first', async () => {
    const record = new ModuleBaselines();
    const viaEntry = fakeNode('m@h', ['kernel']);
    // Another channel to the same node (a direct connection beside the relayed one).
    const direct: RpcChannel = { peer: 'm@h', rpc: (m, f, a) => viaEntry.rpc(m, f, a) };
    const view = new SharedModuleBaselines(record);
    await view.acquire(viaEntry);
    viaEntry.loaded.add('erl_scan');
    // Attached directly while the view reads it: the record of before the view is the one kept.
    assert.deepEqual([...((await record.acquire(direct)) ?? [])], ['kernel']);
    assert.equal(await view.release('m@h'), null, 'the view ends first: the direct attachment still uses the node');
    assert.ok(viaEntry.loaded.has('erl_scan'));
    viaEntry.loaded.add('sys');
    assert.deepEqual(await record.release('m@h', direct), { removed: ['erl_scan', 'sys'], kept: [] });
    assert.deepEqual([...viaEntry.loaded], ['kernel']);
    // A holder whose connection is gone only lets go.
    await record.acquire(viaEntry);
    viaEntry.loaded.add('erl_scan');
    assert.equal(await record.release('m@h', null), null);
    assert.ok(viaEntry.loaded.has('erl_scan'));
  });

  it('a node above the process limit keeps them and says why; the CLI names them', async () => {
    const big = fakeNode('big@h', ['kernel'], 250_000);
    const shared = new SharedModuleBaselines(new ModuleBaselines());
    await shared.acquire(big);
    big.loaded.add('erl_scan');
    const restored = await shared.release('big@h');
    assert.deepEqual(restored?.kept, ['erl_scan']);
    assert.match(restored?.note ?? '', /pass over 250000 processes/);
    assert.ok(!big.calls.includes('code:delete'), 'nothing deleted on the large node');
    const err: string[] = [];
    const output: Output = { out: () => undefined, err: (t: string) => void err.push(t), progress: false, color: false };
    reportModulesKept(output, 'big@h', restored);
    reportModulesKept(output, 'small@h', { removed: ['erl_scan'], kept: [] });
    assert.deepEqual(err, ['beam-lens: on big@h, modules loaded while we were attached were left loaded: removing each would be a pass over 250000 processes: erl_scan']);
  });
});
