// Language server speed: cold index of a synthetic workspace (2,000 Elixir files, ~300,000
// lines) through the real server over stdio, re-index of one edited file, and code lens latency
// while attached to a demo node with 100,000 processes. Printed side by side with what they are
// measured against (reading the files; one fact collection from the node).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect } from '../src/erldist';
import { Attachment } from '../src/core/attach/attachment';
import { factsCollector, moduleSummaries } from '../src/core/facts/runtime-facts';
import { elixirParser } from '../src/server/index/parser';
import { WorkspaceIndex, elixirFiles } from '../src/server/index/workspace';
import { startNode, waitFor } from '../test/integration/harness';
import { LspTestClient } from '../test/integration/lsp-client';
import { fmt, heading, median, percentile, row, timeMs } from './util';

const FILES = Number(process.env.BENCH_FILES ?? 2000);
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 100_000);
const root = path.join(__dirname, '..');

/** One synthetic module of ~150 lines: a GenServer with clauses, or (every 20th) a Supervisor. */
function syntheticModule(i: number): string {
  const name = `Bench.Area${i % 50}.Mod${i}`;
  const lines: string[] = [`defmodule ${name} do`, `  @moduledoc "Synthetic module ${i} for the index benchmark."`];
  if (i % 20 === 0) {
    lines.push('  use Supervisor', '  alias Bench.Area0.{Mod1, Mod2}', '', '  def start_link(arg), do: Supervisor.start_link(__MODULE__, arg, name: __MODULE__)', '', '  @impl true', '  def init(_arg) do');
    lines.push('    children = [', ...Array.from({ length: 10 }, (_, k) => `      {Bench.Area${(i + k) % 50}.Mod${i + k + 1}, [id: ${k}]},`), '      Mod1,', '      Mod2', '    ]');
    lines.push('    Supervisor.init(children, strategy: :one_for_one, max_restarts: 3, max_seconds: 5)', '  end', '');
  } else {
    lines.push('  use GenServer', '  require Logger', '', '  def start_link(arg), do: GenServer.start_link(__MODULE__, arg, name: __MODULE__)', '', '  @impl true', '  def init(arg), do: {:ok, %{arg: arg, count: 0}}', '');
  }
  for (let f = 0; f < 12; f++) {
    lines.push(
      `  @doc "Function ${f}."`,
      `  def fun_${f}(%{count: count} = state, value) when is_integer(value) do`,
      `    Logger.debug("fun_${f} #{inspect(value)}")`,
      `    total = Enum.reduce(1..value, 0, fn x, acc -> acc + x * ${f} end)`,
      `    {:ok, %{state | count: count + total}}`,
      '  end',
      '',
      `  def fun_${f}(state, _value), do: {:error, state}`,
      '',
      `  defp helper_${f}(list, acc \\\\ []) do`,
      '    list |> Enum.map(&(&1 * 2)) |> Enum.filter(&(&1 > 10)) |> Kernel.++(acc)',
      '  end',
    );
  }
  lines.push('', '  @impl true', '  def handle_call({:get, key}, _from, state), do: {:reply, Map.get(state, key), state}', '  def handle_call(:state, _from, state), do: {:reply, state, state}');
  lines.push('', '  @impl true', '  def handle_cast({:put, key, value}, state), do: {:noreply, Map.put(state, key, value)}');
  lines.push('', '  @impl true', '  def handle_info(:tick, state) do', '    Process.send_after(self(), :tick, 1000)', '    {:noreply, state}', '  end', 'end', '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const ws = mkdtempSync(path.join(tmpdir(), 'beam-lens-bench-ws-'));
  let demo: Awaited<ReturnType<typeof startNode>> | null = null;
  try {
    let lines = 0;
    for (let i = 0; i < FILES; i++) {
      const dir = path.join(ws, 'lib', `area${i % 50}`);
      mkdirSync(dir, { recursive: true });
      const text = syntheticModule(i);
      lines += text.split('\n').length;
      writeFileSync(path.join(dir, `mod${i}.ex`), text);
    }
    // The demo's own source, so lenses have runtime facts to match.
    cpSync(path.join(root, 'test/fixtures/demo/lib'), path.join(ws, 'lib/demo_app'), { recursive: true });

    heading(`Cold index: ${FILES} synthetic files + the demo (${lines.toLocaleString('en-US')} lines), real server over stdio`);
    const readOnly = await timeMs(async () => {
      const files = await elixirFiles(ws);
      let bytes = 0;
      for (const f of files) bytes += (await readFile(f)).length;
      return bytes;
    });
    const startToIndexed = await timeMs(async () => {
      const c = await LspTestClient.start([path.join(root, 'dist/server.js'), '--stdio'], ws);
      const status = await c.indexStatus();
      return { c, status };
    });
    const { c: client, status } = startToIndexed.value;
    row(['measure', 'time', 'goal']);
    row(['---', '---', '---']);
    row(['server start to indexed (wall)', fmt(startToIndexed.ms), '< 5 s']);
    row(['index alone (server reports)', fmt(status.coldIndexMs ?? NaN), '']);
    row(['reading the files only', fmt(readOnly.ms), `index = ${((status.coldIndexMs ?? 0) / readOnly.ms).toFixed(1)}x reading`]);
    row(['files / modules / functions', `${status.files} / ${status.modules} / ${status.functions}`, '']);

    heading('Re-index of one edited file (150 lines)');
    const parser = await elixirParser();
    const index = new WorkspaceIndex(parser);
    for (const f of await elixirFiles(ws)) index.indexText(pathToFileURL(f).toString(), readFileSync(f, 'utf8'));
    const target = path.join(ws, 'lib/area7/mod7.ex');
    const targetUri = pathToFileURL(target).toString();
    const base = readFileSync(target, 'utf8');
    const inProcess: number[] = [];
    for (let i = 0; i < 300; i++) {
      const edited = base.replace('end\n', `end\n  def added_${i}(x), do: x\n`);
      inProcess.push((await timeMs(() => index.indexText(targetUri, edited, i))).ms);
    }
    // Over LSP: didChange then a code lens request (answered after the re-index), round trip.
    await client.open(targetUri, base);
    const overLsp: number[] = [];
    for (let i = 0; i < 200; i++) {
      const edited = base.replace('end\n', `end\n  def added_${i}(x), do: x\n`);
      overLsp.push((await timeMs(async () => {
        await client.change(targetUri, edited, i + 2);
        await client.codeLenses(targetUri);
      })).ms);
    }
    row(['measure', 'p50', 'p95', 'goal']);
    row(['---', '---', '---', '---']);
    row(['indexText (parse + extract)', fmt(median(inProcess)), fmt(percentile(inProcess, 95)), 'p95 < 20 ms']);
    row(['didChange + codeLens round trip over stdio', fmt(median(overLsp)), fmt(percentile(overLsp, 95)), '']);
    parser.delete();

    heading(`Code lenses while attached to a node with ${PROCESSES.toLocaleString('en-US')} processes`);
    process.env.DEMO_SESSIONS = String(PROCESSES);
    demo = await startNode({
      command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie, '+P', String(PROCESSES * 2 + 100_000)] },
      startTimeoutMs: 300_000,
    });
    const conn = await connect({ node: demo.node, cookie: demo.cookie });
    const session = new Attachment(conn, { env: 'local', grants: { allowProbe: true } });
    await waitFor(async () => {
      const rows = await moduleSummaries(session);
      return (rows.find((r) => r.module === 'Demo.Session')?.processes ?? 0) >= PROCESSES;
    }, 300_000, `${PROCESSES} demo sessions`, 1000);
    const collector = factsCollector(session);
    const collections: number[] = [];
    let facts = await collector.collect();
    for (let i = 0; i < 3; i++) {
      const t = await timeMs(() => collector.collect());
      collections.push(t.ms);
      facts = t.value;
    }
    // The same collection with the probe's compiled module_summary/1.
    await session.loadProbe();
    const withProbe: number[] = [];
    for (let i = 0; i < 3; i++) withProbe.push((await timeMs(() => collector.collect())).ms);
    await client.sendFacts(facts);
    const sup = pathToFileURL(path.join(ws, 'lib/demo_app/demo/sessions/session_supervisor.ex')).toString();
    const sink = pathToFileURL(path.join(ws, 'lib/demo_app/demo/pipeline/event_sink.ex')).toString();
    await client.waitLenses(sup, (t) => t.length > 0, 'lenses on the session supervisor');
    const lens: number[] = [];
    const sample: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = await timeMs(() => client.codeLenses(i % 2 ? sup : sink));
      lens.push(t.ms);
      if (i < 2) sample.push(...t.value.map((l) => l.command?.title ?? ''));
    }
    row(['measure', 'p50', 'p95', 'goal']);
    row(['---', '---', '---', '---']);
    row(['codeLens request (cached facts)', fmt(median(lens)), fmt(percentile(lens, 95)), 'p95 < 50 ms']);
    row(['one fact collection, zero-install (erl_eval)', fmt(median(collections)), fmt(Math.max(...collections)), `${(median(collections) / median(lens)).toFixed(0)}x a lens request`]);
    row(['one fact collection with the probe', fmt(median(withProbe)), fmt(Math.max(...withProbe)), `${(median(withProbe) / median(collections)).toFixed(2)}x zero-install`]);
    process.stdout.write(`\nlenses on the sink and the session supervisor: ${JSON.stringify(sample)}\n`);
    await client.stop();
    await session.detach();
  } finally {
    await demo?.stop();
    rmSync(ws, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
