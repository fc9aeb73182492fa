// The tree-sitter-elixir index: what it extracts from Elixir source, and how lenses, diagnostics
// and hovers are placed from runtime facts (pure: no node, no LSP transport).
import { strict as assert } from 'node:assert';
import type { Parser } from 'web-tree-sitter';
import type { Finding } from '../../../src/core/findings/rules';
import type { RuntimeFacts } from '../../../src/protocol/lsp';
import { codeLenses, diagnosticsByUri, hover, mdText } from '../../../src/server/features';
import { indexSource } from '../../../src/server/index/extract';
import { elixirParser } from '../../../src/server/index/parser';
import { WorkspaceIndex } from '../../../src/server/index/workspace';

const SUP = `defmodule MyApp.Outer do
  alias MyApp.Workers.{Alpha, Beta}
  alias MyApp.Other, as: O

  defmodule Inner.Sup do
    use Supervisor

    def start_link(arg), do: Supervisor.start_link(__MODULE__, arg, name: __MODULE__)

    @impl true
    def init(_arg) do
      children = [
        Alpha,
        {Beta, name: MyApp.BetaName},
        %{id: :c, start: {O, :start_link, []}},
        Supervisor.child_spec({Alpha, []}, id: :alpha2),
        {DynamicSupervisor, name: MyApp.Dyn, strategy: :one_for_one}
      ]
      Supervisor.init(children, strategy: :rest_for_one, max_restarts: 7, max_seconds: 30)
    end
  end

  def run(a, b \\\\ 2) when is_integer(a), do: a + b
  def run(a, b, c), do: a + b + c
  defp secret, do: :ok
  def child_spec(arg), do: %{id: __MODULE__, start: {__MODULE__, :run, [arg]}}
end
`;

describe('Elixir index (tree-sitter)', () => {
  let parser: Parser;
  before(async () => {
    parser = await elixirParser();
  });
  after(() => parser.delete());

  it('names nested modules in full and resolves aliases (multi, as:, nested, __MODULE__)', () => {
    const idx = indexSource(parser, SUP);
    assert.deepEqual(idx.modules.map((m) => m.name), ['MyApp.Outer', 'MyApp.Outer.Inner.Sup']);
    const sup = idx.modules[1]!;
    assert.deepEqual(sup.uses, ['Supervisor']);
    assert.deepEqual(sup.registeredNames, ['MyApp.Outer.Inner.Sup']);
    const spec = sup.supervisors.find((s) => s.call === 'Supervisor.init')!;
    assert.equal(spec.strategy, 'rest_for_one');
    assert.equal(spec.maxRestarts, 7);
    assert.equal(spec.maxSeconds, 30);
    assert.deepEqual(spec.inFunction, { name: 'init', arity: 1 });
    assert.deepEqual(
      spec.children.map((c) => [c.module, c.name ?? null]),
      [
        ['MyApp.Workers.Alpha', null],
        ['MyApp.Workers.Beta', 'MyApp.BetaName'],
        ['MyApp.Other', null],
        ['MyApp.Workers.Alpha', null],
        ['DynamicSupervisor', 'MyApp.Dyn'],
      ],
    );
    // Supervisor.start_link(__MODULE__, ...) starts a module-based supervisor: not a spec of its own.
    assert.equal(sup.supervisors.length, 1);
  });

  it('records functions with arity, default arguments, guards, kinds and clause ranges', () => {
    const outer = indexSource(parser, SUP).modules[0]!;
    const fns = outer.functions.map((f) => `${f.kind} ${f.name}/${f.arity} min ${f.minArity} x${f.clauses.length}`);
    assert.deepEqual(fns, ['def run/2 min 1 x1', 'def run/3 min 3 x1', 'defp secret/0 min 0 x1', 'def child_spec/1 min 1 x1']);
    assert.equal(outer.childSpecOverride, true);
    const run = outer.functions[0]!;
    assert.deepEqual(run.clauses[0]!.nameRange.start, { line: 22, character: 6 });
  });

  it('reads inline supervisors in an Application and DynamicSupervisor options', () => {
    const src = `defmodule App.Application do
  use Application
  def start(_t, _a) do
    children = [{Registry, keys: :unique, name: App.Registry}, App.Worker]
    opts = [strategy: :one_for_all, name: App.Supervisor]
    Supervisor.start_link(children, strategy: :one_for_all, name: App.Supervisor, max_restarts: 2)
  end
end
defmodule App.Dyn do
  use DynamicSupervisor
  def start_link(a), do: DynamicSupervisor.start_link(__MODULE__, a, name: __MODULE__)
  def init(_), do: DynamicSupervisor.init(strategy: :one_for_one, max_restarts: 100, max_seconds: 1)
end`;
    const [app, dyn] = indexSource(parser, src).modules;
    const inline = app!.supervisors[0]!;
    assert.equal(inline.call, 'Supervisor.start_link');
    assert.equal(inline.name, 'App.Supervisor');
    assert.equal(inline.maxRestarts, 2);
    assert.deepEqual(inline.children.map((c) => c.module), ['Registry', 'App.Worker']);
    assert.deepEqual(app!.registeredNames, ['App.Supervisor']);
    const d = dyn!.supervisors[0]!;
    assert.equal(d.kind, 'DynamicSupervisor');
    assert.equal(d.maxRestarts, 100);
    assert.deepEqual(dyn!.uses, ['DynamicSupervisor']);
  });

  it('indexes a malformed file as far as it parses, and never throws', () => {
    const idx = indexSource(parser, 'defmodule Broken do\n  use GenServer\n  def ok(a), do: a\n  def oops(x do\n    {x,\n  end\n');
    assert.equal(idx.hasErrors, true);
    assert.equal(idx.modules[0]?.name, 'Broken');
    for (const junk of ['', '\u0000\u0001', 'end end end', 'defmodule', 'defmodule do end', '"unterminated', 'def x(', '%{'.repeat(500)]) {
      assert.doesNotThrow(() => indexSource(parser, junk), junk);
    }
  });

  it('gives columns in UTF-16 code units (what LSP positions use)', () => {
    const idx = indexSource(parser, 'defmodule Unicode do\n  @x "héllo wörld 😀"; def f(a), do: a\nend\n');
    const f = idx.modules[0]!.functions[0]!;
    assert.deepEqual(f.clauses[0]!.nameRange.start, { line: 1, character: 27 });
  });
});

describe('lenses, diagnostics and hovers from facts', () => {
  let parser: Parser;
  let index: WorkspaceIndex;
  const uri = 'file:///ws/lib/sup.ex';
  const sinkUri = 'file:///ws/lib/sink.ex';
  const finding = (over: Partial<Finding>): Finding => ({
    id: 'x',
    rule: 'mailbox-growth',
    severity: 'warning',
    title: 'title',
    evidence: ['e1'],
    subject: {},
    recommendation: 'do this',
    risk: 'risk',
    validation: 'check',
    ...over,
  });
  const facts = (over: Partial<RuntimeFacts> = {}): RuntimeFacts => ({
    node: 'demo@host',
    env: 'local',
    source: 'live',
    capturedAt: Date.now(),
    modules: [{ module: 'MyApp.Sink', processes: 2, memory: 2 * 1024 * 1024, messages: 1300, largestMailbox: 1234, largestMailboxPid: '<0.1.0>', mailboxGrowthPerSec: 667 }],
    supervisors: [{ module: 'MyApp.Outer.Inner.Sup', name: 'MyApp.Outer.Inner.Sup', pid: '<0.9.0>', app: 'my_app', strategy: 'rest_for_one', intensity: 7, period: 30, restarts: 2, childCount: 5 }],
    hot: [{ module: 'MyApp.Sink', function: 'handle_cast', arity: 2, calls: 1000, callsPerSec: 302_400, share: 0.31 }],
    findings: [finding({ id: 'mailbox-growth:MyApp.Sink', location: { module: 'Elixir.MyApp.Sink' }, title: 'MyApp.Sink grows' })],
    ...over,
  });

  before(async () => {
    parser = await elixirParser();
    index = new WorkspaceIndex(parser);
    index.indexText(uri, SUP);
    index.indexText(sinkUri, 'defmodule MyApp.Sink do\n  use GenServer\n  def handle_cast(m, s), do: {:noreply, s}\n  def handle_info(m, s), do: {:noreply, s}\n  def handle_info(:x, s), do: {:noreply, s}\nend\n');
  });
  after(() => parser.delete());

  it('puts a supervisor lens in the words of the issue, and module and hot-function lenses', () => {
    const sup = codeLenses(uri, index, [facts()]).map((l) => l.title);
    assert.deepEqual(sup, ['rest_for_one · 5 children · 2 restarts/30 s of 7 allowed']);
    const sink = codeLenses(sinkUri, index, [facts()]).map((l) => l.title);
    assert.deepEqual(sink, ['2 processes · largest mailbox 1,234 (+667/s) · 2.0 MiB', '31% of calls · 302k/s']);
  });

  it('says when the deployed limits differ from the source', () => {
    const f = facts({ supervisors: [{ module: 'MyApp.Outer.Inner.Sup', name: null, pid: '<0.9.0>', app: 'a', strategy: 'one_for_one', intensity: 3, period: 5, restarts: 0, childCount: 1 }] });
    assert.match(codeLenses(uri, index, [f])[0]!.title, /source says 7\/30 s \(not deployed\?\)$/);
  });

  it('marks lenses from a saved session with their age', () => {
    const f = facts({ source: 'saved', capturedAt: Date.now() - 3 * 3600_000 });
    for (const l of codeLenses(sinkUri, index, [f])) assert.match(l.title, /^saved session, 3 h old · /);
  });

  it('places a mailbox finding on every handle_cast/handle_info clause, hot ones on the def', () => {
    const d = diagnosticsByUri(index, [facts()]).get(sinkUri)!;
    assert.deepEqual(d.map((x) => x.range.start.line), [2, 3, 4]);
    assert.equal(d[0]!.source, 'beam-lens');
    assert.equal(d[0]!.severity, 'warning');
    const hot = diagnosticsByUri(index, [facts({ findings: [finding({ id: 'h', rule: 'hot-function', severity: 'info', location: { module: 'MyApp.Outer', function: 'run', arity: 1 } })] })]).get(uri)!;
    assert.equal(hot.length, 1);
    assert.equal(hot[0]!.range.start.line, 22);
    assert.equal(hot[0]!.severity, 'information');
    const storm = diagnosticsByUri(index, [facts({ findings: [finding({ id: 's', rule: 'restart-storm', location: { module: 'MyApp.Outer.Inner.Sup', function: 'init', arity: 1 } })] })]).get(uri)!;
    assert.equal(storm[0]!.range.start.line, 10); // def init(_arg)
  });

  it('hovers show evidence and recommendation, with node data escaped', () => {
    const evil = finding({ id: 'e', location: { module: 'MyApp.Sink' }, title: '[click](http://x) <img src=x onerror=alert(1)>', evidence: ['**bold** `code`'] });
    const text = hover(sinkUri, 2, 7, index, [facts({ findings: [evil] })])!;
    assert.match(text, /Recommendation:\*\* do this/);
    assert.ok(!text.includes('[click](http'), text);
    assert.ok(!/[^\\]<img/.test(text), text);
    assert.ok(text.includes(mdText('<img src=x onerror=alert(1)>')));
    assert.equal(hover(sinkUri, 0, 0, index, [facts({ findings: [evil] })]), null);
    // On the module name: the runtime summary.
    assert.match(hover(sinkUri, 0, 12, index, [facts()])!, /largest mailbox 1,234/);
  });

  it('has nothing to say without facts', () => {
    assert.deepEqual(codeLenses(uri, index, []), []);
    assert.equal(diagnosticsByUri(index, []).size, 0);
  });
});

describe('mapping through the target\'s compile source', () => {
  it('places a finding for a module the index does not know by name in the file the target compiled it from', async () => {
    const parser = await elixirParser();
    try {
      const index = new WorkspaceIndex(parser);
      const uri = 'file:///ws/lib/generated.ex';
      index.indexText(uri, 'defmodule Gen.Macro do\n  defmacro __using__(_), do: :ok\n  def handle_info(m, s), do: {:noreply, s}\nend\n');
      const f: RuntimeFacts = {
        node: 'n@h', env: 'local', source: 'live', capturedAt: Date.now(),
        modules: [{ module: 'Gen.Generated', processes: 1, memory: 1, messages: 0, largestMailbox: 0, sourceHint: '/ws/lib/generated.ex' }],
        supervisors: [], hot: [],
        findings: [{ id: 'm', rule: 'mailbox-backlog', severity: 'warning', title: 't', evidence: [], subject: {}, location: { module: 'Elixir.Gen.Generated' }, recommendation: 'r', risk: 'r', validation: 'v' }],
      };
      const d = diagnosticsByUri(index, [f]).get(uri);
      assert.equal(d?.length, 1);
      assert.equal(d?.[0]?.range.start.line, 2);
      assert.deepEqual(codeLenses(uri, index, [f]).map((l) => l.title), ['1 process · 1 B']);
    } finally {
      parser.delete();
    }
  });
});
