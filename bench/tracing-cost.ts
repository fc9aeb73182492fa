// What tracing costs the target, side by side in one run:
//  1. a loop calling a function a few hundred thousand times a second (one process, ~3 µs of work
//     per call): its throughput before, during and after
//     a hot-functions (call_count) session on its module;
//  2. a message trace of a process receiving ~100,000 messages a second with --rate 100/1s: the
//     tracer's peak memory and how the session ends.
import type { Pid } from '../src/etf';
import { connect } from '../src/erldist';
import { RemoteEvaluator } from '../src/core/target/remote-eval';
import { Attachment } from '../src/core/attach/attachment';
import { runHotFunctions } from '../src/core/runs/hot';
import { runTrace } from '../src/core/runs/trace';
import { startNode } from '../test/integration/harness';
import { heading, row } from './util';

const LOOP = `-module(bl_bench_loop). -export([start/0, work/1, rate/1, flood/1, sink/0]).
start() -> spawn(fun() -> loop(0) end).
loop(N) -> _ = work(N), receive {rate, From} -> From ! {count, N}, loop(N + 1) after 0 -> loop(N + 1) end.
work(N) -> erlang:phash2({N, lists:seq(1, 250)}).
rate(P) -> P ! {rate, self()}, receive {count, N} -> N end.
sink() -> spawn(fun S() -> receive _ -> S() end end).
flood(To) -> spawn(fun F() -> [To ! {event, I, <<"payload">>} || I <- lists:seq(1, 1000)], receive stop -> ok after 10 -> F() end end).`;

async function main(): Promise<void> {
  const node = await startNode();
  try {
    const admin = new RemoteEvaluator(await node.admin());
    await node.loadModule(LOOP);
    const loop = (await admin.eval(`bl_bench_loop:start().`)) as Pid;
    const rate = async (ms: number): Promise<number> => {
      const a = (await admin.eval(`bl_bench_loop:rate(P).`, { P: loop })) as number;
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, ms));
      const b = (await admin.eval(`bl_bench_loop:rate(P).`, { P: loop })) as number;
      return ((b - a) * 1000) / (Date.now() - t0);
    };
    await rate(500);
    const before = await rate(2000);
    const session = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants: { allowProbe: true, allowTrace: true } });
    let during = 0;
    const hot = runHotFunctions(session, { durationMs: 3000, modules: ['bl_bench_loop'] });
    await new Promise((r) => setTimeout(r, 300));
    during = await rate(2000);
    const hotResult = await hot;
    const after = await rate(2000);
    heading('Cost of a hot-functions session (call_count) on a busy loop');
    row(['phase', 'loop iterations/s', 'ratio to before']);
    row(['---', '---', '---']);
    row(['before', Math.round(before).toLocaleString('en-US'), '1.00']);
    row(['during call_count', Math.round(during).toLocaleString('en-US'), (during / before).toFixed(2)]);
    row(['after', Math.round(after).toLocaleString('en-US'), (after / before).toFixed(2)]);
    const work = hotResult.functions.find((f) => f.function === 'work');
    process.stdout.write(`\nthe session counted work/1 at ${work?.callsPerSec.toLocaleString('en-US')} calls/s; throughput during: ${((1 - during / before) * 100).toFixed(1)}% lower (goal ≤ 15%), after: ${((1 - after / before) * 100).toFixed(1)}% (goal: nothing)\n`);

    // 2. Message trace under a flood.
    const sink = (await admin.eval(`bl_bench_loop:sink().`)) as Pid;
    const flooders = (await admin.eval(`[bl_bench_loop:flood(S) || _ <- [1, 2]].`, { S: sink })) as Pid[];
    const received = async (): Promise<number> => ((await admin.eval(`element(2, erlang:process_info(S, reductions)).`, { S: sink })) as number);
    const r0 = await received();
    await new Promise((r) => setTimeout(r, 1000));
    const r1 = await received();
    let peak = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const m = await admin.eval(`case whereis(beam_lens_tracer) of undefined -> 0; T -> element(2, erlang:process_info(T, memory)) end.`).catch(() => 0);
        if (typeof m === 'number' && m > peak) peak = m;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const msgsPerSec = (await admin.eval(`{message_queue_len, Q} = erlang:process_info(S, message_queue_len), Q.`, { S: sink })) as number;
    const trace = await runTrace(session, { kind: 'messages', pid: `<0.${sink.id}.${sink.serial}>` }, { rate: { count: 100, perMs: 1000 }, cap: 100, deadlineMs: 10_000 }, () => undefined);
    polling = false;
    await poll;
    await admin.eval(`[F ! stop || F <- Fs], exit(S, kill), ok.`, { Fs: flooders, S: sink });
    heading('Message trace of a process receiving a flood, --rate 100/1s');
    row(['measure', 'value']);
    row(['---', '---']);
    row(['sink reductions/s before tracing (about 2 per message received)', Math.round(r1 - r0).toLocaleString('en-US')]);
    row(['sink queue at start', String(msgsPerSec)]);
    row(['session ended by', trace.endReason + (trace.breaker ? ` (${trace.breaker.what} ${trace.breaker.value} > ${trace.breaker.limit})` : '')]);
    row(['events forwarded / dropped', `${trace.forwarded} / ${trace.dropped.toLocaleString('en-US')}`]);
    row(['tracer peak memory (polled every 20 ms)', `${(peak / 1024 / 1024).toFixed(2)} MiB`]);
    process.stdout.write(`\ntracer peak ${(peak / 1024 / 1024).toFixed(2)} MiB (goal < 10 MB); ended by ${trace.endReason}\n`);
    await session.detach();
  } finally {
    await node.stop();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
