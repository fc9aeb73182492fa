// The supervision design review's evidence-backed additions against a real Elixir node whose
// fixture application (compiled on the node) has: a permanent worker that exits :normal when its
// job is done, a DynamicSupervisor without max_children whose sessions are opened and never
// closed, and one GenServer fed more casts than it can handle. Before the application starts, the
// node is healthy and none of the three fires; OTP's own applications are never reviewed; the
// monitors of the exit watch are gone afterwards.
import { strict as assert } from 'node:assert';
import { isAtom } from '../../../src/etf';
import { connect } from '../../../src/erldist';
import { Attachment } from '../../../src/core/attach/attachment';
import { diagnose } from '../../../src/core/findings/diagnose';
import { startNode, waitFor, type TestNode } from '../harness';

const FIXTURE = `
defmodule SupFix.OneShot do
  @moduledoc "Does its job a second after it starts, then ends normally: restart is :permanent (GenServer's default)."
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, :ok, name: __MODULE__)
  def init(:ok), do: (Process.send_after(self(), :done, 1000); {:ok, nil})
  def handle_info(:done, s), do: {:stop, :normal, s}
end
defmodule SupFix.Sessions do
  use DynamicSupervisor
  def start_link(_), do: DynamicSupervisor.start_link(__MODULE__, :ok, name: __MODULE__)
  def init(:ok), do: DynamicSupervisor.init(strategy: :one_for_one)
end
defmodule SupFix.Session do
  use GenServer
  def start_link(n), do: GenServer.start_link(__MODULE__, n)
  def init(n), do: {:ok, n}
end
defmodule SupFix.Opener do
  @moduledoc "Opens a session every 50 ms and never closes one."
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, 0, name: __MODULE__)
  def init(n), do: (send(self(), :open); {:ok, n})
  def handle_info(:open, n) do
    {:ok, _} = DynamicSupervisor.start_child(SupFix.Sessions, {SupFix.Session, n})
    Process.send_after(self(), :open, 50)
    {:noreply, n + 1}
  end
end
defmodule SupFix.Ledger do
  @moduledoc "One process posting every entry: a few thousand reductions per cast."
  use GenServer
  def start_link(_), do: GenServer.start_link(__MODULE__, 0, name: __MODULE__)
  def init(n), do: {:ok, n}
  def handle_cast({:post, k}, n), do: (_ = Enum.reduce(1..3000, k, fn i, a -> rem(a * 31 + i, 1_000_003) end); {:noreply, n + 1})
end
defmodule SupFix.Feeder do
  @moduledoc "Casts entries to the Ledger faster than it posts them, keeping its queue near 5000 (started by the test)."
  def start, do: spawn(&loop/0) |> tap(&Process.register(&1, __MODULE__))
  def loop do
    case Process.info(Process.whereis(SupFix.Ledger), :message_queue_len) do
      {:message_queue_len, n} when n > 5000 -> Process.sleep(20)
      _ -> for k <- 1..200, do: GenServer.cast(SupFix.Ledger, {:post, k})
    end
    loop()
  end
end
defmodule SupFix.App do
  use Application
  def start(_, _) do
    Supervisor.start_link([SupFix.OneShot, SupFix.Sessions, SupFix.Opener, SupFix.Ledger], strategy: :one_for_one, max_restarts: 100, max_seconds: 60, name: SupFix.Supervisor)
  end
end
:ok = :application.load({:application, :supfix, [description: ~c"supervision design fixture", vsn: ~c"1.0.0", modules: [], registered: [], applications: [:kernel, :stdlib, :elixir], mod: {SupFix.App, []}]})
`;

const MINE = ['supervision-restart-type', 'supervision-dynamic-growth', 'supervision-partition'];

describe('supervision design review: restart types, unbounded dynamic supervisors, partitioning (real node)', function () {
  this.timeout(180_000);
  let node: TestNode;
  let s: Attachment;
  const monitors = async (): Promise<number> => {
    const n = await node.eval(`length([M || P <- erlang:processes(), {monitored_by, Ms} <- [erlang:process_info(P, monitored_by)], M <- Ms, is_pid(M), node(M) =/= node()]).`);
    return typeof n === 'number' ? n : -1;
  };

  before(async () => {
    node = await startNode({ kind: 'elixir', elixirEval: FIXTURE, startTimeoutMs: 120_000 });
    await waitFor(async () => isAtom(await node.eval(`case application:get_key(supfix, vsn) of {ok, _} -> true; _ -> false end.`), 'true'), 60_000, 'the fixture application loaded');
    s = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local' });
  });
  after(async () => {
    await s?.detach();
    await node?.stop();
  });

  it('a healthy node (the fixture not started): none of the three fires', async () => {
    const d = await diagnose(s, { durationMs: 2000, trace: false });
    const mine = d.findings.filter((f) => MINE.includes(f.rule));
    assert.deepEqual(mine.map((f) => f.id), []);
    assert.equal(await monitors(), 0, 'no monitor of ours left');
  });

  it('with the fixture running: each finding with its evidence and a concrete change; OTP apps not reviewed; no monitor left', async () => {
    await node.eval(`{ok, _} = application:ensure_all_started(supfix), 'Elixir.SupFix.Feeder':start(), ok.`);
    await waitFor(async () => {
      const q = await node.eval(`element(2, erlang:process_info(whereis('Elixir.SupFix.Ledger'), message_queue_len)).`);
      return typeof q === 'number' && q > 1000;
    }, 30_000, 'the Ledger backlog');
    try {
      const d = await diagnose(s, { durationMs: 4000, trace: false });
      const byRule = (r: string) => d.findings.filter((f) => f.rule === r);
      const ids = d.findings.map((f) => f.id).join(', ');

      const [rt, ...rtRest] = byRule('supervision-restart-type');
      assert.ok(rt, ids);
      assert.equal(rtRest.length, 0, ids);
      assert.equal(rt.id, 'supervision-restart-type:SupFix.Supervisor:SupFix.OneShot');
      assert.match(rt.evidence[0] ?? '', /SupFix\.OneShot \(child id SupFix\.OneShot, <[\d.]+>\) exited with reason normal during the \d+\.\d s window/);
      assert.match(rt.evidence[1] ?? '', /restart: permanent, so SupFix\.Supervisor started it again .*count against max_restarts 100/);
      assert.match(rt.recommendation, /use GenServer, restart: :transient/);

      const [dg] = byRule('supervision-dynamic-growth');
      assert.ok(dg, ids);
      assert.equal(dg.id, 'supervision-dynamic-growth:SupFix.Sessions');
      assert.match(dg.evidence[0] ?? '', /^children \d+ at the start of the window, \d+ at the end: \+\d+\.\d\/s/);
      assert.match(dg.evidence[1] ?? '', /max_children: :infinity/);
      assert.match(dg.evidence[2] ?? '', /process limit is reached in/);
      assert.match(dg.recommendation, /max_children: 10_000.*\{:error, :max_children\}/);

      const [pt] = byRule('supervision-partition');
      assert.ok(pt, ids);
      assert.equal(pt.id, 'supervision-partition:SupFix.Ledger');
      assert.match(pt.evidence[0] ?? '', /^mailbox \d+ → \d+ messages/);
      assert.match(pt.evidence[1] ?? '', /reductions\/s, \d+% of the node's; .* the node has \d+ online/);
      assert.match(pt.recommendation, /\{PartitionSupervisor, child_spec: SupFix\.Ledger\.child_spec\(\[\]\), name: SupFix\.Ledger\.Partitions\}.*\{:via, PartitionSupervisor, \{SupFix\.Ledger\.Partitions, key\}\}/);

      for (const f of d.findings.filter((x) => MINE.includes(x.rule))) {
        assert.ok(f.risk.length > 20 && f.validation.length > 20, f.id);
        assert.ok(!/kernel|stdlib|logger|elixir_sup/i.test(f.id), `OTP applications are not reviewed: ${f.id}`);
      }
      // The healthy children are not flagged.
      assert.ok(!d.findings.some((f) => f.rule === 'supervision-restart-type' && /Opener|Ledger/.test(f.id)), ids);
      assert.equal(await monitors(), 0, 'the exit watch left no monitor');
    } finally {
      await node.eval(`exit(whereis('Elixir.SupFix.Feeder'), kill), application:stop(supfix).`);
    }
    assert.ok(isAtom(await node.eval(`whereis('Elixir.SupFix.Feeder').`), 'undefined'));
  });
});
