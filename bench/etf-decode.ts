// ETF decode throughput on a realistic payload: process_info rows of 100,000 processes captured
// from a real node, decoded by our codec, by the erlang_js npm package, and by Erlang's own
// binary_to_term/1 on the target, all on the same bytes in one run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RemoteEvaluator } from '../src/core/target/remote-eval';
import { startNode } from '../test/integration/harness';
import { heading, median, row } from './util';


const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 100_000);
const ROUNDS = 7;

async function main(): Promise<void> {
  const node = await startNode({ args: ['+P', String(PROCESSES * 2 + 10_000)] });
  try {
    const conn = await node.admin();
    const ev = new RemoteEvaluator(conn);
    // Build the payload on the node, time binary_to_term there, and ship the bytes once.
    const reply = await ev.eval(
      `Pids = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, N)],
       Items = [memory, reductions, message_queue_len, current_function, registered_name, initial_call, status],
       Rows = [{P, erlang:process_info(P, Items)} || P <- erlang:processes()],
       Bin = term_to_binary(Rows, [{minor_version, 2}]),
       Times = [element(1, timer:tc(erlang, binary_to_term, [Bin])) || _ <- lists:seq(1, Rounds)],
       [exit(P, kill) || P <- Pids],
       {Bin, Times}.`,
      { N: PROCESSES, Rounds: ROUNDS },
      600_000,
    );
    const [bin, erlTimes] = (reply as { elements: unknown[] }).elements as [Buffer, number[]];
    const mb = bin.length / 1e6;
    // Each decoder runs in a process of its own on the same bytes, after the node is stopped.
    await node.stop();
    const dir = mkdtempSync(path.join(tmpdir(), 'bl-etf-bench-'));
    const file = path.join(dir, 'payload.etf');
    writeFileSync(file, bin);
    const timesOf = (which: string): number[] =>
      JSON.parse(
        execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'etf-decode-worker.ts'), which, file, String(ROUNDS)], {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        }),
      ) as number[];
    const ours = timesOf('ours');
    const theirs = timesOf('erlang_js');
    rmSync(dir, { recursive: true, force: true });
    const oursMs = median(ours);
    const jsMs = median(theirs);
    const erlMs = median(erlTimes) / 1000;
    heading(`ETF decode: process_info rows of ${PROCESSES.toLocaleString('en-US')} processes (${mb.toFixed(1)} MB, utf8 atoms), median of ${ROUNDS}`);
    row(['decoder', 'time', 'MB/s', 'ratio to ours']);
    row(['---', '---', '---', '---']);
    row(['BEAM Lens src/etf', `${oursMs.toFixed(0)} ms`, (mb / (oursMs / 1000)).toFixed(1), '1.00']);
    row(['erlang_js (npm)', `${jsMs.toFixed(0)} ms`, (mb / (jsMs / 1000)).toFixed(1), (jsMs / oursMs).toFixed(2) + 'x slower']);
    row(['erlang:binary_to_term/1 (on the node)', `${erlMs.toFixed(0)} ms`, (mb / (erlMs / 1000)).toFixed(1), (oursMs / erlMs).toFixed(2) + 'x of ours']);
    process.stdout.write(
      `\nours vs erlang_js: ${(jsMs / oursMs).toFixed(1)}x faster (goal ≥ 5x); ours vs binary_to_term: ${(oursMs / erlMs).toFixed(2)}x its time (goal ≤ 1.5x)\n`,
    );
  } finally {
    await node.stop();
  }
}

void main();
