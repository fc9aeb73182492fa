// The TextMate grammars of syntaxes/ (trace logs and Erlang terms), tokenized with VS Code's own
// engine (vscode-textmate + vscode-oniguruma): concrete scopes for concrete substrings.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { INITIAL, Registry, parseRawGrammar, type IGrammar, type StateStack } from 'vscode-textmate';
import { OnigScanner, OnigString, loadWASM } from 'vscode-oniguruma';
import type { TraceEvent } from '../../../src/core/runs/trace';
import { renderTraceLog, traceLine } from '../../../src/core/records/trace-log';

const root = path.join(__dirname, '../../..');
const grammarFiles: Record<string, string> = {
  'source.beamtrace': 'syntaxes/beamtrace.tmLanguage.json',
  'source.erlang-term': 'syntaxes/erlang-term.tmLanguage.json',
};

interface Token {
  text: string;
  start: number;
  scopes: string[];
}

interface Line {
  text: string;
  tokens: Token[];
}

/** Tokenizes `text` line by line, carrying the grammar state from one line to the next as an editor does. */
function tokenizeLines(grammar: IGrammar, text: string): Line[] {
  let state: StateStack = INITIAL;
  return text.split('\n').map((line) => {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    return { text: line, tokens: r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), start: t.startIndex, scopes: t.scopes })) };
  });
}

function tokenizeLine(grammar: IGrammar, text: string): Line {
  assert.ok(!text.includes('\n'), 'one line');
  return tokenizeLines(grammar, text)[0] as Line;
}

function dump(line: Line): string {
  return line.tokens.map((t) => `  ${JSON.stringify(t.text)}: ${t.scopes.join(' ')}`).join('\n');
}

/** The token under the first character of the `nth` occurrence of `substring` in the line. */
function tokenAt(line: Line, substring: string, nth = 0): Token {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = line.text.indexOf(substring, at + 1);
    assert.ok(at >= 0, `${JSON.stringify(substring)} (#${nth}) not in ${JSON.stringify(line.text)}`);
  }
  const token = line.tokens.find((t) => at >= t.start && at < t.start + t.text.length);
  assert.ok(token, `no token at ${at} of ${JSON.stringify(line.text)}`);
  return token;
}

function scopesAt(line: Line, substring: string, nth = 0): string[] {
  return tokenAt(line, substring, nth).scopes;
}

/** The token starting `substring` carries `scope` (exactly that scope name, anywhere in its stack). */
function hasScope(line: Line, substring: string, scope: string, nth = 0): void {
  const scopes = scopesAt(line, substring, nth);
  assert.ok(scopes.includes(scope), `${JSON.stringify(substring)} should have ${scope}, has ${scopes.join(' ')}\n${dump(line)}`);
}

/** The `nth` token whose text is exactly `text` carries `scope` (anywhere in its stack). */
function isToken(line: Line, text: string, scope: string, nth = 0): void {
  const token = line.tokens.filter((t) => t.text === text)[nth];
  assert.ok(token, `no token ${JSON.stringify(text)} (#${nth})\n${dump(line)}`);
  assert.ok(token.scopes.includes(scope), `${JSON.stringify(text)} (#${nth}) should have ${scope}, has ${token.scopes.join(' ')}\n${dump(line)}`);
}

function lacksScopePrefix(line: Line, substring: string, prefix: string, nth = 0): void {
  const scopes = scopesAt(line, substring, nth);
  assert.ok(!scopes.some((s) => s.startsWith(prefix)), `${JSON.stringify(substring)} should have no ${prefix}*, has ${scopes.join(' ')}\n${dump(line)}`);
}

/** How often a scope occurs in the stack of the token (nesting depth of meta scopes). */
function depth(line: Line, substring: string, scope: string): number {
  return scopesAt(line, substring).filter((s) => s === scope).length;
}

/**
 * Every non-blank character sits in a token with a scope of its own: not only the grammar's root
 * or a meta.* region (a run of text the grammar did not understand has only those).
 */
function assertFullyScoped(line: Line, where: string): void {
  for (const t of line.tokens) {
    if (t.text.trim() === '') continue;
    const own = t.scopes.filter((s) => !s.startsWith('source.') && !s.startsWith('meta.'));
    assert.ok(own.length > 0, `${where}: ${JSON.stringify(t.text)} is not scoped (${t.scopes.join(' ')}) in ${JSON.stringify(line.text)}`);
  }
}

describe('TextMate grammars', () => {
  let trace: IGrammar;
  let term: IGrammar;

  before(async () => {
    const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    await loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new Registry({
      onigLib: Promise.resolve({ createOnigScanner: (patterns: string[]) => new OnigScanner(patterns), createOnigString: (s: string) => new OnigString(s) }),
      loadGrammar: async (scopeName) => {
        const file = grammarFiles[scopeName];
        return file ? parseRawGrammar(readFileSync(path.join(root, file), 'utf8'), path.join(root, file)) : null;
      },
    });
    const t = await registry.loadGrammar('source.beamtrace');
    const e = await registry.loadGrammar('source.erlang-term');
    assert.ok(t && e, 'both grammars load');
    trace = t;
    term = e;
  });

  describe('grammar: trace log (source.beamtrace)', () => {
    const T = (text: string): Line => tokenizeLine(trace, text);

    it('header line: a comment with the title, the version and key=value pairs', () => {
      const l = T('# beam-lens trace v1 node=demo@host session=20261125T101500Z-trace-1a2b3c');
      isToken(l, '#', 'punctuation.definition.comment.beamtrace');
      for (const s of ['#', 'beam-lens', 'node', 'session=', '-1a2b3c']) hasScope(l, s, 'comment.line.number-sign.beamtrace');
      hasScope(l, 'node', 'meta.header.beamtrace');
      isToken(l, 'beam-lens trace', 'keyword.other.title.beamtrace');
      isToken(l, 'v1', 'constant.numeric.version.beamtrace');
      isToken(l, 'node', 'keyword.other.key.beamtrace');
      isToken(l, '=', 'punctuation.separator.key-value.beamtrace');
      isToken(l, 'demo@host', 'constant.other.value.beamtrace');
      isToken(l, 'session', 'keyword.other.key.beamtrace');
      // a session id is a value, not numbers
      isToken(l, '20261125T101500Z-trace-1a2b3c', 'constant.other.value.beamtrace');
      lacksScopePrefix(l, '20261125T', 'constant.numeric');
    });

    it('target line: the traced function as a term, the limits as key=value (camelCase keys and units too)', () => {
      const l = T("# target: 'Elixir.Demo.Pricing':compute/2 rate=10/1000ms cap=100 deadlineMs=30000 chars=200");
      isToken(l, 'target', 'keyword.other.section.beamtrace');
      hasScope(l, 'target', 'meta.header.target.beamtrace');
      isToken(l, "'Elixir.Demo.Pricing'", 'entity.name.type.module.erlang-term');
      isToken(l, 'compute', 'entity.name.function.erlang-term');
      isToken(l, '2', 'constant.numeric.arity.erlang-term');
      hasScope(l, 'compute', 'comment.line.number-sign.beamtrace');
      isToken(l, 'rate', 'keyword.other.key.beamtrace');
      isToken(l, '10', 'constant.numeric.beamtrace');
      hasScope(l, '10', 'constant.other.value.beamtrace');
      isToken(l, '1000', 'constant.numeric.beamtrace');
      isToken(l, 'ms', 'keyword.other.unit.beamtrace');
      isToken(l, 'deadlineMs', 'keyword.other.key.beamtrace');
      isToken(l, '30000', 'constant.numeric.beamtrace');
      isToken(l, 'chars', 'keyword.other.key.beamtrace');

      // as the CLI writes it (Elixir module names), and as the extension writes a message trace
      const cli = T('# target: Demo.Pricing:compute/_ rate=10/1000ms');
      isToken(cli, 'Demo.Pricing', 'entity.name.type.module.erlang-term');
      isToken(cli, '_', 'constant.numeric.arity.erlang-term');
      const messages = T('# target: messages of <0.123.0> rate=10/1000ms limit=100 duration=30s');
      isToken(messages, '<0.123.0>', 'constant.other.pid.erlang-term');
      isToken(messages, 's', 'keyword.other.unit.beamtrace');
      isToken(messages, 'limit', 'keyword.other.key.beamtrace');
    });

    it('footer line: end, the reason and the counts', () => {
      const l = T('# end reason=cap forwarded=100 dropped=12 duration=1234ms');
      isToken(l, 'end', 'keyword.other.section.beamtrace');
      for (const s of ['end', 'reason', 'cap', '1234']) hasScope(l, s, 'meta.footer.beamtrace');
      isToken(l, 'reason', 'keyword.other.key.beamtrace');
      isToken(l, 'cap', 'constant.other.value.beamtrace');
      isToken(l, 'forwarded', 'keyword.other.key.beamtrace');
      isToken(l, '100', 'constant.numeric.beamtrace');
      isToken(l, '12', 'constant.numeric.beamtrace');
      isToken(l, '1234', 'constant.numeric.beamtrace');
      isToken(l, 'ms', 'keyword.other.unit.beamtrace');
    });

    it('every event kind: the timestamp, the process and the kind as a keyword', () => {
      const rest: Record<string, string> = {
        call: "'Elixir.Demo.Pricing':compute(1, 2)",
        return: "'Elixir.Demo.Pricing':compute/2 -> {ok,42}",
        exception: "'Elixir.Demo.Pricing':compute/2 raised error:badarg",
        send: '<0.141.0> {ping,1}',
        receive: '{ping,1}',
        monitor: 'long_gc [{timeout,120}]',
      };
      for (const [kind, more] of Object.entries(rest)) {
        const l = T(`10:15:00.123456 <0.123.0> ${kind} ${more}`);
        isToken(l, '10:15:00.123456', 'constant.numeric.timestamp.beamtrace');
        assert.deepEqual(scopesAt(l, '10:15'), ['source.beamtrace', 'meta.event.beamtrace', 'constant.numeric.timestamp.beamtrace']);
        isToken(l, '<0.123.0>', 'constant.other.pid.beamtrace');
        hasScope(l, '<0.123.0>', 'meta.process.beamtrace');
        isToken(l, kind, `keyword.control.event.${kind}.beamtrace`);
        assert.ok(l.tokens.at(-1)?.scopes.includes(`meta.event.${kind}.beamtrace`), `the rest of the line belongs to the ${kind} event\n${dump(l)}`);
        assertFullyScoped(l, kind);
      }
    });

    it('the process column: local pids, remote pids (node number or node name), ports, registered names', () => {
      const at = (who: string): Line => T(`10:15:00.123456 ${who} receive ok`);
      isToken(at('<0.123.0>'), '<0.123.0>', 'constant.other.pid.beamtrace');
      // remote: as the target prints them (node number) and as BEAM Lens prints them (node name)
      isToken(at('<12345.123.0>'), '<12345.123.0>', 'constant.other.pid.remote.beamtrace');
      isToken(at('<demo2@host.123.0>'), '<demo2@host.123.0>', 'constant.other.pid.remote.beamtrace');
      isToken(at('<beam-lens-1@10.0.0.7.123.0>'), '<beam-lens-1@10.0.0.7.123.0>', 'constant.other.pid.remote.beamtrace');
      isToken(at('#Port<0.17>'), '#Port<0.17>', 'constant.other.port.beamtrace');
      isToken(at('logger'), 'logger', 'constant.other.registered-name.beamtrace');
      isToken(at("'Elixir.Demo.Cache'"), "'Elixir.Demo.Cache'", 'constant.other.registered-name.beamtrace');
      isToken(at("'odd name'"), "'odd name'", 'constant.other.registered-name.beamtrace');
      for (const who of ['<12345.123.0>', 'logger', "'odd name'"]) {
        const l = at(who);
        isToken(l, 'receive', 'keyword.control.event.receive.beamtrace');
        isToken(l, 'ok', 'constant.language.erlang-term');
      }
    });

    it('call: the module, the function and the arguments as Erlang terms', () => {
      const l = T(`10:15:00.123456 <0.123.0> call 'Elixir.Demo.Pricing':compute(1, #{a => <<"x">>}, "it's \\"q\\"")`);
      isToken(l, "'Elixir.Demo.Pricing'", 'entity.name.type.module.erlang-term');
      isToken(l, 'compute', 'entity.name.function.erlang-term');
      isToken(l, '(', 'punctuation.definition.arguments.begin.erlang-term');
      hasScope(l, '1,', 'meta.function-call.erlang-term');
      isToken(l, '1', 'constant.numeric.integer.erlang-term');
      isToken(l, '#{', 'punctuation.definition.map.begin.erlang-term');
      isToken(l, '=>', 'keyword.operator.map.erlang-term');
      isToken(l, '<<', 'punctuation.definition.binary.begin.erlang-term');
      isToken(l, 'x', 'string.quoted.double.erlang-term');
      isToken(l, '\\"', 'constant.character.escape.erlang-term');
      isToken(l, ')', 'punctuation.definition.arguments.end.erlang-term');
      assertFullyScoped(l, 'call');
    });

    it('return: -> as an operator and the returned value as a term', () => {
      const l = T("10:15:00.123502 <0.123.0> return 'Elixir.Demo.Pricing':compute/2 -> {ok,[1337,-2.5]}");
      isToken(l, '->', 'keyword.operator.return.beamtrace');
      isToken(l, 'compute', 'entity.name.function.erlang-term');
      isToken(l, '/', 'punctuation.separator.arity.erlang-term');
      isToken(l, '2', 'constant.numeric.arity.erlang-term');
      isToken(l, '{', 'punctuation.definition.tuple.begin.erlang-term');
      isToken(l, 'ok', 'constant.language.erlang-term');
      isToken(l, '1337', 'constant.numeric.integer.erlang-term');
      isToken(l, '-2.5', 'constant.numeric.float.erlang-term');
      // "->" inside a printed term is the term's, not the operator
      const s = T('10:15:00.123502 <0.123.0> return m:f/0 -> "a -> b"');
      isToken(s, '->', 'keyword.operator.return.beamtrace');
      hasScope(s, '->', 'string.quoted.double.erlang-term', 1);
      lacksScopePrefix(s, '->', 'keyword.operator', 1);
    });

    it('exception: raised as an operator, the class as invalid, the reason under markup.error', () => {
      const l = T("10:15:00.124001 <0.123.0> exception 'Elixir.Demo.Pricing':compute/2 raised error:{badmatch,{error,enoent}}");
      isToken(l, 'raised', 'keyword.operator.raised.beamtrace');
      hasScope(l, 'raised', 'meta.exception.beamtrace');
      isToken(l, 'error', 'invalid.illegal.exception-class.beamtrace');
      isToken(l, ':', 'punctuation.separator.exception.beamtrace', 1);
      isToken(l, 'badmatch', 'constant.other.symbol.erlang-term');
      hasScope(l, 'badmatch', 'markup.error.exception-reason.beamtrace');
      hasScope(l, 'badmatch', 'meta.tuple.erlang-term');
      // the inner error is a plain atom of the reason, not the class
      isToken(l, 'error', 'constant.language.erlang-term', 1);
      lacksScopePrefix(l, 'error', 'invalid', 1);
      for (const cls of ['exit', 'throw']) {
        const e = T(`10:15:00.124001 <0.123.0> exception m:f/1 raised ${cls}:'not found'`);
        isToken(e, cls, 'invalid.illegal.exception-class.beamtrace');
        hasScope(e, "'not found'", 'constant.other.symbol.quoted.erlang-term');
      }
      // raised only means something in an exception line
      lacksScopePrefix(T('10:15:00.1 <0.1.0> receive raised'), 'raised', 'keyword.operator');
    });

    it('send: the destination (pid, remote pid, registered name, {Name,Node}) and then the message', () => {
      const dest = (d: string): Line => T(`10:15:00.130000 <0.140.0> send ${d} {ping,1}`);
      for (const d of ['<0.141.0>', '<12345.141.0>', '<demo2@host.141.0>']) {
        const l = dest(d);
        isToken(l, d, 'constant.other.pid.erlang-term');
        hasScope(l, d, 'meta.destination.beamtrace');
        lacksScopePrefix(l, 'ping', 'meta.destination');
        isToken(l, 'ping', 'constant.other.symbol.erlang-term');
      }
      const named = dest('logger');
      isToken(named, 'logger', 'constant.other.symbol.erlang-term');
      hasScope(named, 'logger', 'meta.destination.beamtrace');
      const remote = dest("{'Elixir.Demo.Registry',demo2@host}");
      hasScope(remote, 'demo2@host', 'meta.destination.beamtrace');
      isToken(remote, 'demo2@host', 'constant.other.symbol.erlang-term');
      lacksScopePrefix(remote, 'ping', 'meta.destination');
      const msg = T(`10:15:00.130000 <0.140.0> send <0.141.0> {'$gen_call',{<0.140.0>,#Ref<0.3127.2.44>},get}`);
      isToken(msg, '$gen_call', 'constant.other.symbol.quoted.erlang-term');
      isToken(msg, '<0.140.0>', 'constant.other.pid.erlang-term', 1);
      isToken(msg, '#Ref<0.3127.2.44>', 'constant.other.reference.erlang-term');
    });

    it('monitor: the monitor event and its details', () => {
      const l = T('10:15:00.200000 <0.150.0> monitor long_gc [{timeout,120},{heap_size,4000}]');
      isToken(l, 'long_gc', 'support.constant.monitor-event.beamtrace');
      isToken(l, 'timeout', 'constant.other.symbol.erlang-term');
      isToken(l, '120', 'constant.numeric.integer.erlang-term');
      hasScope(l, '120', 'meta.tuple.erlang-term');
      hasScope(l, '120', 'meta.list.erlang-term');
      const port = T('10:15:00.200200 <0.150.0> monitor busy_port #Port<0.17>');
      isToken(port, 'busy_port', 'support.constant.monitor-event.beamtrace');
      isToken(port, '#Port<0.17>', 'constant.other.port.erlang-term');
    });

    it('a line cut in the middle of a term does not bleed into the next line', () => {
      const next = '10:15:00.200000 <0.2.0> call m:f(1)';
      const cuts = [
        '10:15:00.100000 <0.1.0> receive {a,[1,2,{b,',
        '10:15:00.100000 <0.1.0> receive {a,<<"unterminated...',
        "10:15:00.100000 <0.1.0> receive {'EXIT',<0.1.0>,'half a quoted atom...",
        '10:15:00.100000 <0.1.0> receive #{k => <<1,2,',
        "10:15:00.100000 <0.1.0> call 'Elixir.Demo':f(#{a => [1,",
        '10:15:00.100000 <0.1.0> exception m:f/1 raised error:{badarg,[{m,f,1,[{file,"m.erl"...',
        '10:15:00.100000 <0.1.0> return m:f/1 -> {ok,(',
        '# target: {odd,[target',
      ];
      for (const cut of cuts) {
        const [first, second, third] = tokenizeLines(trace, `${cut}\n${next}\n# end reason=cap`);
        assert.ok(first && second && third);
        // the cut line itself opened something that did not close
        assert.ok(first.tokens.at(-1)!.scopes.some((s) => /^(meta\.(tuple|list|map|binary|function-call)|string|constant\.other\.symbol\.quoted)/.test(s)), `nothing left open in ${cut}\n${dump(first)}`);
        assert.deepEqual(scopesAt(second, '10:15'), ['source.beamtrace', 'meta.event.beamtrace', 'constant.numeric.timestamp.beamtrace'], `after ${cut}\n${dump(second)}`);
        assert.deepEqual(scopesAt(second, '<0.2.0>'), ['source.beamtrace', 'meta.event.beamtrace', 'meta.process.beamtrace', 'constant.other.pid.beamtrace']);
        assert.deepEqual(scopesAt(second, 'call'), ['source.beamtrace', 'meta.event.beamtrace', 'meta.event.call.beamtrace', 'keyword.control.event.call.beamtrace']);
        isToken(second, 'm', 'entity.name.type.module.erlang-term');
        assert.deepEqual(scopesAt(third, 'end'), ['source.beamtrace', 'comment.line.number-sign.beamtrace', 'meta.footer.beamtrace', 'keyword.other.section.beamtrace'], `after ${cut}`);
      }
      // the marker at the end of a cut string or quoted atom is the truncation, not text
      isToken(tokenizeLine(trace, cuts[1] as string), '...', 'comment.other.truncated.erlang-term');
      isToken(tokenizeLine(trace, cuts[2] as string), '...', 'comment.other.truncated.erlang-term');
    });

    it('other lines: plain comments, a lone timestamp, an event kind this grammar does not know', () => {
      const c = T('# tracing messages of <0.123.0> on demo@host…');
      assert.deepEqual(scopesAt(c, 'tracing'), ['source.beamtrace', 'comment.line.number-sign.beamtrace']);
      isToken(c, '#', 'punctuation.definition.comment.beamtrace');
      isToken(T('10:15:00.123456'), '10:15:00.123456', 'constant.numeric.timestamp.beamtrace');
      const other = T('10:15:00.123456 <0.1.0> spawn {m,f,[]}');
      isToken(other, 'spawn', 'keyword.control.event.other.beamtrace');
      isToken(other, 'm', 'constant.other.symbol.erlang-term');
      // not an event: no timestamp at the start of the line
      lacksScopePrefix(T('call m:f(1)'), 'call', 'keyword');
    });

    it('every line of the sample log is scoped to its last character', () => {
      const text = readFileSync(path.join(root, 'test/fixtures/grammar/sample.beamtrace'), 'utf8').trimEnd();
      const lines = tokenizeLines(trace, text);
      assert.ok(lines.length >= 20, 'the sample has all kinds of lines');
      const kinds = new Set<string>();
      for (const [i, line] of lines.entries()) {
        assertFullyScoped(line, `sample line ${i + 1}`);
        if (line.text.startsWith('#')) {
          assert.ok(line.tokens.every((t) => t.scopes.includes('comment.line.number-sign.beamtrace')), `line ${i + 1} is a comment throughout`);
        } else {
          const first = line.tokens[0];
          assert.ok(first?.scopes.includes('constant.numeric.timestamp.beamtrace'), `line ${i + 1} starts with a timestamp\n${dump(line)}`);
          const kind = line.tokens.flatMap((t) => t.scopes).find((s) => s.startsWith('keyword.control.event.'));
          assert.ok(kind, `line ${i + 1} has an event kind`);
          kinds.add(kind);
        }
      }
      assert.deepEqual([...kinds].sort(), ['call', 'exception', 'monitor', 'receive', 'return', 'send'].map((k) => `keyword.control.event.${k}.beamtrace`));
    });

    it('a log rendered by trace-log.ts is scoped throughout too', () => {
      const t0 = Date.UTC(2026, 10, 25, 10, 15) * 1000;
      const events: TraceEvent[] = [
        { type: 'call', pid: '<0.1.0>', what: "'Elixir.Demo':f(1, <<\"a\nb\">>)", detail: '', timestampUs: t0 + 5 },
        { type: 'return', pid: '<0.1.0>', what: "'Elixir.Demo':f/2", detail: '{ok,#{n => 2}}', timestampUs: t0 + 9 },
        { type: 'exception', pid: '<0.1.0>', what: "'Elixir.Demo':f/2", detail: 'error:function_clause', timestampUs: t0 + 12 },
        { type: 'send', pid: '<0.1.0>', what: '<demo2@host.7.0>', detail: '{hello,[1,2,3,4,5,6,7,8…', timestampUs: t0 + 20 },
        { type: 'receive', pid: '<0.1.0>', what: '', detail: '<<"abc"...(4096 bytes)>>', timestampUs: t0 + 30 },
        { type: 'monitor', pid: '<0.9.0>', what: 'long_schedule', detail: "[{timeout,150},{in,{'Elixir.Demo',loop,1}}]", timestampUs: t0 + 40 },
      ];
      const text = renderTraceLog('demo@host', '20261125T101500Z-trace-1', 'Demo:f/2', { rate: '10/1000ms', limit: 5, chars: 200 }, {
        events,
        forwarded: events.length,
        dropped: 3,
        endReason: 'deadline',
        durationMs: 30012.4,
      }).trimEnd();
      const lines = tokenizeLines(trace, text);
      assert.equal(lines.length, events.length + 3);
      for (const [i, line] of lines.entries()) assertFullyScoped(line, `rendered line ${i + 1}`);
      for (const [i, e] of events.entries()) {
        const line = lines[i + 2] as Line;
        assert.equal(line.text, traceLine(e));
        assert.match(line.tokens[0]?.text ?? '', /^10:15:00\.0000\d\d$/);
        isToken(line, line.tokens[0]?.text ?? '', 'constant.numeric.timestamp.beamtrace');
        isToken(line, e.type, `keyword.control.event.${e.type}.beamtrace`);
      }
      isToken(lines[5] as Line, '<demo2@host.7.0>', 'constant.other.pid.erlang-term');
      isToken(lines[5] as Line, '…', 'comment.other.truncated.erlang-term');
      isToken(lines[6] as Line, '...(4096 bytes)', 'comment.other.truncated.erlang-term');
      // the newline in the call's binary was escaped onto the same line
      isToken(lines[2] as Line, '\\n', 'constant.character.escape.erlang-term');
    });
  });

  describe('grammar: Erlang terms (source.erlang-term)', () => {
    const E = (text: string): Line => tokenizeLine(term, text);

    it('atoms: bare, well-known, with @, quoted with escapes and spaces', () => {
      const l = E(`[ok, error, undefined, true, false, nonode@nohost, héllo, 'Elixir.Foo', 'hello world', 'it\\'s', 'back\\\\slash', '']`);
      isToken(l, 'ok', 'constant.language.erlang-term');
      isToken(l, 'error', 'constant.language.erlang-term');
      isToken(l, 'undefined', 'constant.language.erlang-term');
      isToken(l, 'true', 'constant.language.boolean.erlang-term');
      isToken(l, 'false', 'constant.language.boolean.erlang-term');
      isToken(l, 'nonode@nohost', 'constant.other.symbol.erlang-term');
      isToken(l, 'héllo', 'constant.other.symbol.erlang-term');
      isToken(l, "'", 'punctuation.definition.symbol.begin.erlang-term');
      isToken(l, 'Elixir.Foo', 'constant.other.symbol.quoted.erlang-term');
      isToken(l, 'hello world', 'constant.other.symbol.quoted.erlang-term');
      isToken(l, "\\'", 'constant.character.escape.erlang-term');
      hasScope(l, "\\'", 'constant.other.symbol.quoted.erlang-term');
      isToken(l, 's', 'constant.other.symbol.quoted.erlang-term');
      isToken(l, '\\\\', 'constant.character.escape.erlang-term');
      isToken(l, "'", 'punctuation.definition.symbol.end.erlang-term', 1);
      // the escaped quote did not end the atom: the comma after it is a separator again
      hasScope(l, ", 'back", 'punctuation.separator.erlang-term');
      hasScope(l, "''", 'punctuation.definition.symbol.begin.erlang-term');
      assertFullyScoped(l, 'atoms');
      // a word inside a longer atom is not a well-known atom
      isToken(E('okay'), 'okay', 'constant.other.symbol.erlang-term');
    });

    it('numbers: integers, negative, radix, floats with exponents, characters', () => {
      const l = E('{42, -42, 16#FF, -16#ff, 2#101, 36#Z1, 1.0, -1.5, 1.0e-3, 2.5E+3, 1e-7, 123456789012345678901234567890, $a, $\\n}');
      isToken(l, '42', 'constant.numeric.integer.erlang-term');
      isToken(l, '-42', 'constant.numeric.integer.erlang-term');
      isToken(l, '16#FF', 'constant.numeric.integer.radix.erlang-term');
      isToken(l, '-16#ff', 'constant.numeric.integer.radix.erlang-term');
      isToken(l, '2#101', 'constant.numeric.integer.radix.erlang-term');
      isToken(l, '36#Z1', 'constant.numeric.integer.radix.erlang-term');
      isToken(l, '1.0', 'constant.numeric.float.erlang-term');
      isToken(l, '-1.5', 'constant.numeric.float.erlang-term');
      isToken(l, '1.0e-3', 'constant.numeric.float.erlang-term');
      isToken(l, '2.5E+3', 'constant.numeric.float.erlang-term');
      isToken(l, '1e-7', 'constant.numeric.float.erlang-term');
      isToken(l, '123456789012345678901234567890', 'constant.numeric.integer.erlang-term');
      isToken(l, '$a', 'constant.character.erlang-term');
      isToken(l, '$\\n', 'constant.character.erlang-term');
      assertFullyScoped(l, 'numbers');
    });

    it('strings and charlists: escapes, escaped quotes, unicode, empty', () => {
      const l = E(`["say \\"hi\\"\\n", "tab\\there \\x{1F600} \\101", "héllo wörld", ""]`);
      isToken(l, '"', 'punctuation.definition.string.begin.erlang-term');
      isToken(l, 'say ', 'string.quoted.double.erlang-term');
      isToken(l, '\\"', 'constant.character.escape.erlang-term');
      isToken(l, 'hi', 'string.quoted.double.erlang-term');
      isToken(l, '\\n', 'constant.character.escape.erlang-term');
      hasScope(l, '\\n', 'string.quoted.double.erlang-term');
      isToken(l, '"', 'punctuation.definition.string.end.erlang-term', 1);
      isToken(l, '\\t', 'constant.character.escape.erlang-term');
      isToken(l, '\\x{1F600}', 'constant.character.escape.erlang-term');
      isToken(l, '\\101', 'constant.character.escape.erlang-term');
      isToken(l, 'héllo wörld', 'string.quoted.double.erlang-term');
      hasScope(l, '""', 'punctuation.definition.string.begin.erlang-term');
      // after the strings: list punctuation again, not string
      isToken(l, ']', 'punctuation.definition.list.end.erlang-term');
      lacksScopePrefix(l, ']', 'string');
      assertFullyScoped(l, 'strings');
    });

    it('binaries: text, bytes, unicode, bitstrings, empty, and truncated in every way', () => {
      const l = E('[<<"abc">>, <<1,2,3>>, <<"héllo"/utf8>>, <<1:3>>, <<5,1:3>>, <<>>, <<...>>, <<1,2,...>>, <<"abc"...>>, <<"abc"...(1234 bytes)>>, <<1,2,...(99 bytes)>>]');
      isToken(l, '<<', 'punctuation.definition.binary.begin.erlang-term');
      hasScope(l, '"abc"', 'meta.binary.erlang-term');
      isToken(l, 'abc', 'string.quoted.double.erlang-term');
      isToken(l, '>>', 'punctuation.definition.binary.end.erlang-term');
      isToken(l, '1', 'constant.numeric.integer.erlang-term');
      hasScope(l, '1', 'meta.binary.erlang-term');
      isToken(l, 'utf8', 'storage.type.binary.erlang-term');
      isToken(l, '/', 'punctuation.separator.type.erlang-term');
      isToken(l, ':', 'punctuation.separator.size.erlang-term');
      isToken(l, '3', 'constant.numeric.size.erlang-term', 1);
      hasScope(l, '<<>>', 'punctuation.definition.binary.begin.erlang-term');
      isToken(l, '...', 'comment.other.truncated.erlang-term');
      hasScope(l, '...', 'meta.binary.erlang-term');
      isToken(l, '...', 'comment.other.truncated.erlang-term', 1);
      isToken(l, '...', 'comment.other.truncated.erlang-term', 2);
      isToken(l, '...(1234 bytes)', 'comment.other.truncated.erlang-term');
      isToken(l, '...(99 bytes)', 'comment.other.truncated.erlang-term');
      assert.equal(l.tokens.filter((t) => t.scopes.includes('punctuation.definition.binary.end.erlang-term')).length, 11, 'every binary closes');
      assertFullyScoped(l, 'binaries');
    });

    it('pids, ports, references and funs', () => {
      const l = E("{<0.12.0>, <12345.12.0>, <demo@host.12.0>, #Port<0.5>, #Port<demo@host.5>, #Ref<0.1.2.3>, #Ref<demo@host.3127.2.44>, #Fun<erl_eval.6.1234>, #Fun<Elixir.Demo.0.99>, fun lists:map/2, fun 'Elixir.Enum':map/2}");
      isToken(l, '<0.12.0>', 'constant.other.pid.erlang-term');
      isToken(l, '<12345.12.0>', 'constant.other.pid.erlang-term');
      isToken(l, '<demo@host.12.0>', 'constant.other.pid.erlang-term');
      isToken(l, '#Port<0.5>', 'constant.other.port.erlang-term');
      isToken(l, '#Port<demo@host.5>', 'constant.other.port.erlang-term');
      isToken(l, '#Ref<0.1.2.3>', 'constant.other.reference.erlang-term');
      isToken(l, '#Ref<demo@host.3127.2.44>', 'constant.other.reference.erlang-term');
      isToken(l, '#Fun<erl_eval.6.1234>', 'constant.other.fun.erlang-term');
      isToken(l, '#Fun<Elixir.Demo.0.99>', 'constant.other.fun.erlang-term');
      isToken(l, 'fun', 'storage.type.function.erlang-term');
      isToken(l, 'lists', 'entity.name.type.module.erlang-term');
      isToken(l, 'map', 'entity.name.function.erlang-term');
      isToken(l, '2', 'constant.numeric.arity.erlang-term');
      isToken(l, "'Elixir.Enum'", 'entity.name.type.module.erlang-term');
      assertFullyScoped(l, 'pids, ports, refs, funs');
    });

    it('nested maps, lists with tails and tuples keep their nesting', () => {
      const l = E('#{k => [1, {a, <<"x">>} | t], n => {{deep}}, e => #{}, l => [], t => {}}');
      assert.deepEqual(
        scopesAt(l, 'x').filter((s) => s.startsWith('meta.')),
        ['meta.map.erlang-term', 'meta.list.erlang-term', 'meta.tuple.erlang-term', 'meta.binary.erlang-term'],
      );
      isToken(l, '|', 'punctuation.separator.tail.erlang-term');
      isToken(l, 't', 'constant.other.symbol.erlang-term');
      assert.deepEqual(scopesAt(l, 'n =>'), ['source.erlang-term', 'meta.map.erlang-term', 'constant.other.symbol.erlang-term'], 'back at the map after the list closed');
      assert.equal(depth(l, 'deep', 'meta.tuple.erlang-term'), 2);
      hasScope(l, '#{}', 'punctuation.definition.map.begin.erlang-term');
      assert.equal(depth(l, '#{}', 'meta.map.erlang-term'), 2);
      assert.deepEqual(l.tokens.at(-1)!.scopes, ['source.erlang-term', 'meta.map.erlang-term', 'punctuation.definition.map.end.erlang-term']);
      assertFullyScoped(l, 'nesting');
    });

    it('function forms: mod:fun/2 and mod:fun(args)', () => {
      const l = E("[lists:map/2, 'Elixir.Foo':bar/1, m:f(1, [a]), m:'quoted fun'(x), after]");
      isToken(l, 'lists', 'entity.name.type.module.erlang-term');
      isToken(l, ':', 'punctuation.separator.module.erlang-term');
      isToken(l, 'map', 'entity.name.function.erlang-term');
      isToken(l, '2', 'constant.numeric.arity.erlang-term');
      isToken(l, "'Elixir.Foo'", 'entity.name.type.module.erlang-term');
      isToken(l, 'bar', 'entity.name.function.erlang-term');
      isToken(l, 'm', 'entity.name.type.module.erlang-term');
      isToken(l, 'f', 'entity.name.function.erlang-term');
      hasScope(l, '1, [a]', 'meta.function-call.erlang-term');
      isToken(l, 'a', 'constant.other.symbol.erlang-term');
      hasScope(l, 'a]', 'meta.list.erlang-term');
      isToken(l, "'quoted fun'", 'entity.name.function.erlang-term');
      // the call closed: what follows is an atom in the list again
      assert.deepEqual(scopesAt(l, 'after'), ['source.erlang-term', 'meta.list.erlang-term', 'constant.other.symbol.erlang-term']);
    });

    it('the truncation markers of ~P, chars_limit, the probe and formatTerm', () => {
      const l = E('{[1,2|...], {a,...}, #{a => 1,...}, [x,y,...], abc…}');
      for (let i = 0; i < 4; i++) isToken(l, '...', 'comment.other.truncated.erlang-term', i);
      hasScope(l, '...', 'meta.list.erlang-term', 0);
      isToken(l, '…', 'comment.other.truncated.erlang-term');
      isToken(l, 'abc', 'constant.other.symbol.erlang-term');
      assertFullyScoped(l, 'truncation');
    });

    it('a term printed over several lines keeps its nesting; a cut string ends with its line', () => {
      const lines = tokenizeLines(term, ['{state,[{a,1},', '        {b,<<"bin">>}],', '       #{k => "cut...', '         v},', '       ok}', 'done'].join('\n'));
      const [, second, third, fourth, fifth, sixth] = lines;
      assert.ok(second && third && fourth && fifth && sixth);
      assert.deepEqual(scopesAt(second, 'b'), ['source.erlang-term', 'meta.tuple.erlang-term', 'meta.list.erlang-term', 'meta.tuple.erlang-term', 'constant.other.symbol.erlang-term']);
      isToken(second, ']', 'punctuation.definition.list.end.erlang-term');
      isToken(third, '...', 'comment.other.truncated.erlang-term');
      // the string ended with its line: v is an atom of the map, not text
      assert.deepEqual(scopesAt(fourth, 'v'), ['source.erlang-term', 'meta.tuple.erlang-term', 'meta.map.erlang-term', 'constant.other.symbol.erlang-term']);
      assert.deepEqual(scopesAt(fifth, 'ok'), ['source.erlang-term', 'meta.tuple.erlang-term', 'constant.language.erlang-term']);
      assert.deepEqual(scopesAt(sixth, 'done'), ['source.erlang-term', 'constant.other.symbol.erlang-term']);
    });
  });

  describe('grammar files and language configurations', () => {
    interface LanguageConfig {
      comments?: { lineComment?: string };
      brackets: Array<[string, string]>;
      autoClosingPairs: Array<{ open: string; close: string; notIn?: string[] }>;
      surroundingPairs: Array<[string, string]>;
      wordPattern?: string;
    }
    const config = (file: string): LanguageConfig => JSON.parse(readFileSync(path.join(root, 'syntaxes', file), 'utf8')) as LanguageConfig;

    it('language configurations: comments, brackets incl. << >>, pairs, and a word pattern that keeps pids whole', () => {
      const trace = config('beamtrace.language-configuration.json');
      const term = config('erlang-term.language-configuration.json');
      assert.equal(trace.comments?.lineComment, '#');
      assert.equal(term.comments, undefined, 'printed terms have no comments');
      for (const c of [trace, term]) {
        for (const pair of [['{', '}'], ['[', ']'], ['(', ')'], ['<<', '>>']]) assert.ok(c.brackets.some((b) => b[0] === pair[0] && b[1] === pair[1]), `bracket ${pair.join(' ')}`);
        for (const open of ['{', '[', '(', '"', "'"]) assert.ok(c.autoClosingPairs.some((p) => p.open === open), `auto-closes ${open}`);
        assert.ok(c.wordPattern);
        const word = new RegExp(c.wordPattern, 'g');
        const words = (s: string): string[] => s.match(word) ?? [];
        assert.deepEqual(words('{ok,<0.123.0>}'), ['ok', '<0.123.0>']);
        assert.deepEqual(words('<demo@host.12.0> #Port<0.5> #Ref<0.1.2.3> -1.5e-3 nonode@nohost'), ['<demo@host.12.0>', '#Port<0.5>', '#Ref<0.1.2.3>', '-1.5e-3', 'nonode@nohost']);
      }
    });

    it('package.json contributes both languages with these grammars and configurations', () => {
      interface Manifest {
        contributes: {
          languages: Array<{ id: string; extensions?: string[]; configuration?: string }>;
          grammars: Array<{ language?: string; scopeName: string; path: string }>;
        };
      }
      const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
      for (const [id, scopeName] of [['beamtrace', 'source.beamtrace'], ['erlang-term', 'source.erlang-term']] as const) {
        const language = manifest.contributes.languages.find((l) => l.id === id);
        assert.ok(language, `language ${id}`);
        assert.equal(language.configuration, `./syntaxes/${id}.language-configuration.json`);
        const grammar = manifest.contributes.grammars.find((g) => g.scopeName === scopeName);
        assert.ok(grammar, `grammar ${scopeName}`);
        assert.equal(grammar.language, id);
        const file = grammar.path.replace(/^\.\//, '');
        assert.equal(file, grammarFiles[scopeName]);
        assert.equal((JSON.parse(readFileSync(path.join(root, file), 'utf8')) as { scopeName: string }).scopeName, scopeName);
      }
      assert.ok(manifest.contributes.languages.find((l) => l.id === 'beamtrace')?.extensions?.includes('.beamtrace'));
    });
  });
});
