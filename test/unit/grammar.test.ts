// The TextMate grammars of syntaxes/ (trace logs and Erlang terms), tokenized with VS Code's own
// engine (vscode-textmate + oniguruma): concrete scopes for concrete substrings.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { INITIAL, Registry, parseRawGrammar, type IGrammar, type StateStack } from 'vscode-textmate';
import { OnigScanner, OnigString, loadWASM } from 'vscode-oniguruma';
import { renderTraceLog } from '../../src/core/sessions/trace-log';

const root = path.join(__dirname, '../..');
const files: Record<string, string> = {
  'source.beamtrace': 'syntaxes/beamtrace.tmLanguage.json',
  'source.erlang-term': 'syntaxes/erlang-term.tmLanguage.json',
};

interface Token {
  text: string;
  scopes: string[];
}

function tokenizeLines(grammar: IGrammar, text: string): Token[][] {
  let state: StateStack = INITIAL;
  return text.split('\n').map((line) => {
    const r = grammar.tokenizeLine(line, state);
    state = r.ruleStack;
    return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
  });
}

/** Scopes of the token that starts `substring` in `line` (the first occurrence). */
function scopesAt(tokens: Token[], line: string, substring: string): string[] {
  const at = line.indexOf(substring);
  assert.ok(at >= 0, `${substring} not in ${line}`);
  let pos = 0;
  for (const t of tokens) {
    if (at >= pos && at < pos + t.text.length) return t.scopes;
    pos += t.text.length;
  }
  throw new Error(`no token at ${at}`);
}

describe('TextMate grammars', () => {
  let trace: IGrammar;
  let term: IGrammar;

  before(async () => {
    const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    await loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new Registry({
      onigLib: Promise.resolve({ createOnigScanner: (p: string[]) => new OnigScanner(p), createOnigString: (s: string) => new OnigString(s) }),
      loadGrammar: async (scope) => {
        const file = files[scope];
        return file ? parseRawGrammar(readFileSync(path.join(root, file), 'utf8'), file) : null;
      },
    });
    trace = (await registry.loadGrammar('source.beamtrace')) as IGrammar;
    term = (await registry.loadGrammar('source.erlang-term')) as IGrammar;
    assert.ok(trace && term);
  });

  const line = (g: IGrammar, text: string): { tokens: Token[]; at: (s: string) => string[] } => {
    const tokens = tokenizeLines(g, text)[0] as Token[];
    return { tokens, at: (s) => scopesAt(tokens, text, s) };
  };
  const has = (scopes: string[], scope: string): void => assert.ok(scopes.some((s) => s.startsWith(scope)), `expected ${scope} in ${scopes.join(' ')}`);

  it('scopes every event kind, the timestamp and the pid', () => {
    for (const kind of ['call', 'return', 'exception', 'send', 'receive', 'monitor']) {
      const text = `10:15:00.123456 <0.123.0> ${kind} foo`;
      const l = line(trace, text);
      has(l.at('10:15'), 'constant.numeric.timestamp.beamtrace');
      has(l.at('<0.123.0>'), 'constant.other.pid.beamtrace');
      has(l.at(kind), `keyword.control.event.${kind}.beamtrace`);
    }
    has(line(trace, '10:15:00.123456 demo_registered call x').at('demo_registered'), 'constant.other.pid.beamtrace');
  });

  it('highlights returns and exceptions', () => {
    const ret = line(trace, "10:15:00.123502 <0.123.0> return 'Elixir.Demo.Pricing':compute/2 -> {ok,1337}");
    has(ret.at('->'), 'keyword.operator.returns.beamtrace');
    has(ret.at("'Elixir.Demo.Pricing'"), 'entity.name.type.module.erlang-term');
    has(ret.at('compute'), 'entity.name.function.erlang-term');
    has(ret.at('2 ->'), 'constant.numeric.arity.erlang-term');
    has(ret.at('1337'), 'constant.numeric.integer.erlang-term');
    const exc = line(trace, '10:15:00.124001 <0.123.0> exception m:f/2 raised error:badarg');
    has(exc.at('raised'), 'keyword.operator.raised.beamtrace');
    has(exc.at('error:'), 'invalid.illegal.exception-class.beamtrace');
  });

  it('header and footer lines are comments with key=value pairs', () => {
    const h = line(trace, '# beam-lens trace v1 node=demo@host session=abc');
    has(h.at('#'), 'comment.line.number-sign.beamtrace');
    has(h.at('beam-lens trace'), 'keyword.other.title.beamtrace');
    has(h.at('node'), 'variable.other.key.beamtrace');
    has(h.at('demo@host'), 'constant.other.value.beamtrace');
    const f = line(trace, '# end reason=cap forwarded=100 dropped=12 duration=1234ms');
    has(f.at('end'), 'keyword.other.section.beamtrace');
    has(f.at('cap'), 'constant.other.value.beamtrace');
  });

  it('Erlang terms: atoms, quoted atoms with escapes, strings, numbers', () => {
    const text = `{ok, 'hello \\'world\\'', "say \\"hi\\"", -42, 16#FF, 2#101, 1.5e-3, $a, undefined, 'Elixir.Foo'}`;
    const l = line(term, text);
    has(l.at('ok'), 'constant.language.erlang-term');
    has(l.at("'hello"), 'constant.other.symbol.quoted.erlang-term');
    has(l.at("\\'world"), 'constant.character.escape.erlang-term');
    has(l.at('"say'), 'string.quoted.double.erlang-term');
    has(l.at('\\"hi'), 'constant.character.escape.erlang-term');
    has(l.at('-42'), 'constant.numeric.integer.erlang-term');
    has(l.at('16#FF'), 'constant.numeric.integer.radix.erlang-term');
    has(l.at('2#101'), 'constant.numeric.integer.radix.erlang-term');
    has(l.at('1.5e-3'), 'constant.numeric.float.erlang-term');
    has(l.at('$a'), 'constant.character.erlang-term');
    has(l.at("'Elixir.Foo'"), 'constant.other.symbol.quoted.erlang-term');
    has(l.at('{'), 'punctuation.definition.tuple.begin.erlang-term');
  });

  it('Erlang terms: nested maps, lists with tails, binaries, pids, ports, refs, funs', () => {
    const text = '#{k => [1, {a, <<"x">>} | T], <0.12.0> => #Port<0.5>, r => #Ref<0.1.2.3>, f => #Fun<erl_eval.6.1234>, g => fun lists:map/2, b => <<1:3, 2>>}';
    const l = line(term, text);
    has(l.at('#{'), 'punctuation.definition.map.begin.erlang-term');
    has(l.at('=>'), 'keyword.operator.map.erlang-term');
    has(l.at('| T'), 'punctuation.separator.tail.erlang-term');
    has(l.at('<<"x">>'), 'punctuation.definition.binary.begin.erlang-term');
    has(l.at('"x"'), 'string.quoted.double.erlang-term');
    has(l.at('<0.12.0>'), 'constant.other.pid.erlang-term');
    has(l.at('#Port'), 'constant.other.Port.erlang-term');
    has(l.at('#Ref'), 'constant.other.Ref.erlang-term');
    has(l.at('#Fun'), 'entity.name.function.fun.erlang-term');
    has(l.at('fun lists'), 'keyword.other.fun.erlang-term');
    has(l.at(':3'), 'meta.binary.erlang-term');
    // nesting: the string inside the binary inside the tuple inside the list inside the map
    const scopes = l.at('"x"');
    for (const s of ['meta.map', 'meta.list', 'meta.tuple', 'meta.binary']) has(scopes, s);
  });

  it('a line cut mid-term by truncation does not bleed into the next event', () => {
    const text = '10:15:00.1 <0.1.0> receive {a, [1, 2, <<"unterminated...\n10:15:00.200000 <0.2.0> call m:f(1)';
    const lines = tokenizeLines(trace, text);
    const second = lines[1] as Token[];
    const secondText = '10:15:00.200000 <0.2.0> call m:f(1)';
    has(scopesAt(second, secondText, '10:15'), 'constant.numeric.timestamp.beamtrace');
    has(scopesAt(second, secondText, 'call'), 'keyword.control.event.call.beamtrace');
    assert.ok(!scopesAt(second, secondText, 'call').some((s) => s.startsWith('string')), 'string state leaked');
  });

  it('the truncation marker is its own scope', () => {
    has(line(term, '[1,2,...]').at('...'), 'comment.other.truncated.erlang-term');
  });

  it('every line of the sample log and of a rendered log is scoped', () => {
    const sample = readFileSync(path.join(root, 'test/fixtures/grammar/sample.beamtrace'), 'utf8').trimEnd();
    const rendered = renderTraceLog('demo@host', 'id', "'m':f/1", { rate: '10/1000ms', limit: 5 }, {
      events: [
        { type: 'call', pid: '<0.1.0>', what: "'m':f(1)", detail: '', timestampUs: Date.UTC(2026, 10, 25) * 1000 + 5 },
        { type: 'return', pid: '<0.1.0>', what: "'m':f/1", detail: '{ok,2}', timestampUs: Date.UTC(2026, 10, 25) * 1000 + 9 },
      ],
      forwarded: 2,
      dropped: 0,
      endReason: 'cap',
      durationMs: 12,
    }).trimEnd();
    for (const text of [sample, rendered]) {
      for (const [i, tokens] of tokenizeLines(trace, text).entries()) {
        const scoped = tokens.filter((t) => t.scopes.length > 1);
        assert.ok(scoped.length > 0 && tokens[0]!.scopes.length > 1, `line ${i + 1} is not scoped: ${text.split('\n')[i]}`);
      }
    }
  });
});
