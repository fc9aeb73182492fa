import { strict as assert } from 'node:assert';
import { crashEvidenceLines, describeReason, groupCrashes, reasonKey } from '../../../../src/core/runs/crashes';
import type { TraceEvent } from '../../../../src/core/runs/trace';

const exit = (child: string, reason: string): TraceEvent => ({ type: 'receive', pid: '<0.100.0>', what: 'receive', detail: `{'EXIT',${child},${reason}}`, timestampUs: 0 });

describe('crash evidence from a supervisor\'s EXIT messages', () => {
  it('groups crashes by reason across children, counts clean exits apart, keeps the last in full', () => {
    const g = groupCrashes([
      exit('<0.201.0>', '{bad_invoice,42}'),
      exit('<0.202.0>', '{bad_invoice,42}'),
      exit('<0.203.0>', 'normal'),
      exit('<0.204.0>', '{timeout,{gen_server,call,[<0.9.0>,ping]}}'),
      { type: 'send', pid: '<0.100.0>', what: '<0.5.0>', detail: "{'EXIT',<0.1.0>,x}", timestampUs: 0 },
    ]);
    assert.deepEqual(g.groups.map((x) => [x.reason, x.count, x.children.length]), [['{bad_invoice,42}', 2, 2], ['{timeout,{gen_server,call,[<pid>,ping]}}', 1, 1]]);
    assert.equal(g.clean, 1);
    assert.equal(g.last, '{timeout,{gen_server,call,[<0.9.0>,ping]}}');
    assert.equal(reasonKey('{x,<node@h.1.2>,#Ref<0.1.2.3>}'), '{x,<pid>,#Ref<…>}');
  });

  it('reads an Elixir exception with its stacktrace as a person would', () => {
    const r = `{#{'__exception__' => true,'__struct__' => 'Elixir.RuntimeError',message => <<"upstream returned 503">>},[{'Elixir.Demo.FlakyWorker',handle_info,2,[{file,"lib/demo/workers/flaky_worker.ex"},{line,21}]}]}`;
    assert.equal(describeReason(r), 'RuntimeError "upstream returned 503" in Demo.FlakyWorker.handle_info/2 (lib/demo/workers/flaky_worker.ex:21)');
    assert.equal(describeReason('{bad_invoice,42}'), '{bad_invoice,42}');
    const lines = crashEvidenceLines({ supervisor: '<0.1.0>', windowMs: 5000, groups: [{ reason: r, count: 3, children: ['<0.2.0>'] }], last: r, clean: 0, endReason: 'deadline' });
    assert.match(lines[0] ?? '', /over 5\.0 s: RuntimeError "upstream returned 503" in Demo\.FlakyWorker\.handle_info\/2 .* × 3/);
    assert.match(lines[1] ?? '', /^last crash in full: /);
    assert.deepEqual(crashEvidenceLines({ supervisor: '<0.1.0>', windowMs: 2000, groups: [], clean: 2, endReason: 'deadline' }), ['no child crashed while its messages were traced for 2.0 s (2 clean exits)']);
  });
});
