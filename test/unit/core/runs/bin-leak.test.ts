// collectBinaryHolders' bounds with a scripted evaluator: the time limit is checked between
// processes (the rest are listed as not collected, ending 'deadline'), a holder that exits before
// its turn is listed as gone, and the run needs the 'gc' consent before anything is evaluated.
import { strict as assert } from 'node:assert';
import { Atom, Pid, Tuple, type Term } from '../../../../src/etf';
import type { Attachment } from '../../../../src/core/attach/attachment';
import { collectBinaryHolders } from '../../../../src/core/runs/bin-leak';
import { BeamLensError } from '../../../../src/errors';

const node = 'n@h';
const pid = (id: number): Pid => new Pid(Atom.of(node), id, 0, 1);
const undef = Atom.of('undefined');
const holder = (id: number, bytes: number): Term => new Tuple([pid(id), bytes, 1, new Tuple([Atom.of(`proc_${id}`), new Tuple([Atom.of('m'), Atom.of('f'), 0]), new Tuple([undef, undef, undef])])]);

function fakeSession(collectMs: number, grants: { allowGc?: boolean }, gone: number[] = []): { session: Attachment; evals: string[] } {
  const evals: string[] = [];
  const evaluator = {
    async eval(source: string, bindings: Record<string, Term> = {}): Promise<Term> {
      evals.push(source.includes('garbage_collect') ? 'collect' : source.includes('keysort') ? 'rank' : 'memory');
      if (source.includes('garbage_collect')) {
        await new Promise((r) => setTimeout(r, collectMs));
        const p = bindings.P;
        if (p instanceof Pid && gone.includes(p.id)) return Atom.of('gone');
        return new Tuple([Atom.of('ok'), 4, 8e6, 0, 0, 4, 8e6, 40e6, 32e6, 50]);
      }
      if (source.includes('keysort')) return new Tuple([Atom.of('ok'), 40_000_000, 100, [holder(1, 9e6), holder(2, 8e6), holder(3, 7e6), holder(4, 6e6)]]);
      return 30_000_000;
    },
  };
  const session = { node, env: 'local', options: { env: 'local', grants }, evaluator } as unknown as Attachment;
  return { session, evals };
}

describe('bin-leak run bounds', () => {
  it('refuses without the gc consent before evaluating anything', async () => {
    const { session, evals } = fakeSession(0, {});
    await assert.rejects(collectBinaryHolders(session), (e: unknown) => e instanceof BeamLensError && e.kind === 'consentRequired');
    assert.deepEqual(evals, []);
  });

  it('stops at the time limit between processes and lists the rest as not collected', async () => {
    const { session } = fakeSession(600, { allowGc: true });
    const r = await collectBinaryHolders(session, { timeLimitMs: 1000 });
    assert.equal(r.endReason, 'deadline');
    assert.equal(r.collected.length, 2);
    assert.deepEqual(r.skipped.map((s) => s.who), ['proc_3', 'proc_4']);
  });

  it('a holder gone before its turn is listed as gone, the others collected', async () => {
    const { session } = fakeSession(0, { allowGc: true }, [2]);
    const r = await collectBinaryHolders(session, {});
    assert.equal(r.endReason, 'completed');
    assert.equal(r.collected.length, 3);
    assert.equal(r.gone.length, 1);
    assert.equal(r.binaryAfter, 30_000_000);
  });
});
