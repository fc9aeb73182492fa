// Lenses of a sampling profile on the profiled functions' definitions (src/server/profile-lenses.ts),
// from a profile converted by core (profileFacts), and the code action of a hot-functions finding.
import { strict as assert } from 'node:assert';
import type { Parser } from 'web-tree-sitter';
import type { Finding } from '../../../src/core/findings/rules';
import { profileFacts } from '../../../src/core/profile/flame';
import { ProfileBuilder, type RawFrame } from '../../../src/core/profile/profile';
import { elixirParser } from '../../../src/server/index/parser';
import { WorkspaceIndex } from '../../../src/server/index/workspace';
import { isProfileFacts, profileActionFor, profileLenses } from '../../../src/server/profile-lenses';

const PRICING = `defmodule Demo.Pricing do
  def compute(%{base_cents: b}, quantity) when quantity > 0 do
    Enum.map([1], fn x -> x * b end)
    b * volume_discount(quantity)
  end

  defp volume_discount(q) when q >= 100, do: 0.15
  defp volume_discount(_q), do: 0.0
end
`;

describe('profile lenses in the source', () => {
  let parser: Parser;
  let index: WorkspaceIndex;
  const uri = 'file:///w/lib/demo/pricing.ex';

  before(async () => {
    parser = await elixirParser();
    index = new WorkspaceIndex(parser);
    index.indexText(uri, PRICING);
  });
  after(() => parser.delete());

  function facts() {
    const b = new ProfileBuilder();
    b.addProcess({ pid: '<0.100.0>', name: 'Elixir.Demo.PricingWorker', initialCall: null });
    const F: Record<string, RawFrame> = {
      init: { module: 'proc_lib', function: 'init_p_do_apply', arity: 3, line: 240 },
      compute: { module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2, line: 4 },
      discount: { module: 'Elixir.Demo.Pricing', function: 'volume_discount', arity: 1, line: 7 },
      fn: { module: 'Elixir.Demo.Pricing', function: '-compute/2-fun-0-', arity: 2, line: 3 },
      other: { module: 'Elixir.Demo.Other', function: 'run', arity: 0, line: 1 },
    };
    let t = 0;
    const add = (stack: RawFrame[], n: number): void => {
      for (let i = 0; i < n; i++) b.add('<0.100.0>', (t += 1000), true, [...stack].reverse().map((f) => b.frame(f)));
    };
    add([F.init as RawFrame, F.compute as RawFrame, F.discount as RawFrame], 34);
    add([F.init as RawFrame, F.compute as RawFrame], 27);
    add([F.init as RawFrame, F.compute as RawFrame, F.fn as RawFrame], 9);
    add([F.init as RawFrame, F.other as RawFrame], 30);
    const p = b.profile({ mode: 'probe', stats: { hz: 97, intervalUs: 10309, samples: b.count, ticks: 0, lateTicks: 0, backoffs: 0, costUsPerSample: 1, costUsMax: 1 }, durationMs: 1000 });
    return profileFacts(p, 'demo@host', Date.now());
  }

  it("puts each profiled function's share on its definition, in the words of the issue", () => {
    const f = facts();
    assert.ok(isProfileFacts(JSON.parse(JSON.stringify(f))));
    const lenses = profileLenses(uri, index, [f]);
    const byLine = lenses.map((l) => [l.range.start.line, l.title]).sort((a, b) => Number(a[0]) - Number(b[0]) || String(a[1]).localeCompare(String(b[1])));
    assert.deepEqual(byLine, [
      [1, "fn inside: self 9% · total 9% of Demo.PricingWorker's samples"],
      [1, "self 27% · total 70% of Demo.PricingWorker's samples"],
      [6, "self 34% · total 34% of Demo.PricingWorker's samples"],
    ]);
    assert.deepEqual(lenses[0]?.command.command, 'beamLens.showFlameGraph');
    // Other files get none; no profile, no lenses.
    assert.deepEqual(profileLenses('file:///w/other.ex', index, [f]), []);
    assert.deepEqual(profileLenses(uri, index, []), []);
  });

  it('refuses malformed profile notifications', () => {
    assert.ok(!isProfileFacts({ node: 'x', of: 'y', capturedAt: 1, functions: [{ module: 'M' }] }));
    assert.ok(!isProfileFacts(null));
    assert.ok(!isProfileFacts({ node: 1 }));
  });

  it('offers to profile from a hot-functions finding', () => {
    const finding = { id: 'hot-function:x', rule: 'hot-function', severity: 'warning', title: 't', evidence: [], subject: {}, location: { module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2 }, recommendation: '', risk: '', validation: '' } satisfies Finding;
    const a = profileActionFor(finding, 'demo@host');
    assert.equal(a?.title, 'BEAM Lens: profile the busiest processes to see where Demo.Pricing.compute/2 spends its time');
    assert.deepEqual(a?.command, { command: 'beamLens.profileProcess', arguments: [{ node: 'demo@host', top: 3, search: 'Demo.Pricing.compute/2' }] });
    assert.equal(profileActionFor({ ...finding, rule: 'mailbox-growth' }, 'demo@host'), null);
  });
});
