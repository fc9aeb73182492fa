// The real telemetry library on a test node (shared by test/integration/core/telemetry.test.ts and
// the editor's e2e): telemetry 1.4.1's source from ../shared/testdeps/telemetry compiled with erlc
// into a temporary directory, and a fixture module that attaches a handler and emits events.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '../..');

// ../shared/testdeps/telemetry next to the repository; in a git worktree, next to its main checkout.
export const TELEMETRY_SRC = ((): string => {
  const beside = (dir: string): string => path.resolve(dir, '..', 'shared', 'testdeps', 'telemetry');
  let common: string | null = null;
  try {
    common = path.resolve(root, execFileSync('git', ['rev-parse', '--git-common-dir'], { cwd: root, encoding: 'utf8' }).trim());
  } catch {
    // Not a git checkout: only the folder next to it counts.
  }
  const candidates = [beside(root), ...(common ? [beside(path.dirname(common))] : [])];
  return candidates.find((c) => existsSync(path.join(c, 'src', 'telemetry.erl'))) ?? (candidates[0] as string);
})();

// The fixture: starts telemetry, attaches a handler of its own (an external fun, as telemetry
// recommends) and emits spans (about 1 ms each) and an event whose duration is exactly 5 ms.
export const FIXTURE = `
-module(tele_fixture).
-export([start/0, handle/4, loop/0]).
start() ->
    {ok, _} = application:ensure_all_started(telemetry),
    ok = telemetry:attach_many(fixture_handler, [[test_app, work, start], [test_app, work, stop], [test_app, other, done]],
                               fun tele_fixture:handle/4, #{}),
    register(tele_loop, spawn(fun tele_fixture:loop/0)),
    ok.
handle(_Event, _Measurements, _Metadata, _Config) -> ok.
loop() ->
    telemetry:span([test_app, work], #{}, fun() -> timer:sleep(1), {ok, #{}} end),
    telemetry:execute([test_app, other, done], #{duration => erlang:convert_time_unit(5000, microsecond, native), size => 10}, #{}),
    receive stop -> ok after 2 -> tele_fixture:loop() end.
`;

/** Compiles telemetry into DIR/telemetry/ebin with an .app file; returns the ebin path. */
export function compileTelemetry(dir: string): string {
  const ebin = path.join(dir, 'telemetry', 'ebin');
  mkdirSync(ebin, { recursive: true });
  const srcDir = path.join(TELEMETRY_SRC, 'src');
  const sources = readdirSync(srcDir).filter((f) => f.endsWith('.erl')).map((f) => path.join(srcDir, f));
  execFileSync('erlc', ['-I', srcDir, '-o', ebin, ...sources]);
  const modules = sources.map((f) => path.basename(f, '.erl')).join(',');
  const app = readFileSync(path.join(srcDir, 'telemetry.app.src'), 'utf8').replace(/\{modules,\s*\[\]\}/, `{modules, [${modules}]}`);
  writeFileSync(path.join(ebin, 'telemetry.app'), app);
  return ebin;
}

