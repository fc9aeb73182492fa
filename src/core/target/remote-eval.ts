// Evaluates a short Erlang expression on the target with erl_eval: nothing is loaded or written
// there. Used to compose several BIF calls into one round trip (e.g. switch a flag on, sample,
// switch it back) where a sequence of separate rpcs would leave state behind between calls.
import { Atom, ErlMap, Term, Tuple, isAtom } from '../../etf';
import type { RpcChannel } from './rpc';
import { UnexpectedReplyError } from './terms';

const VALUE_TAG = '$beam_lens_value';

export class RemoteEvaluator {
  private readonly parsed = new Map<string, Term>();
  private bindingsAsMap: boolean | undefined;

  constructor(private readonly channel: RpcChannel) {}

  /**
   * Evaluates `source` (one or more expressions separated by commas, ending with a period)
   * with the given variable bindings, and returns the value of the last expression.
   */
  async eval(source: string, bindings: Record<string, Term> = {}, timeoutMs = 10_000): Promise<Term> {
    // erl_eval returns every binding with the value: the inputs and whatever the snippet bound
    // (a list of 100,000 children, say). Throwing the value instead makes rex answer with it
    // alone (rpc returns thrown values as results), so only the answer crosses the wire.
    const body = source.trim().replace(/\.$/, '');
    const exprs = await this.parse(`throw({'${VALUE_TAG}', begin ${body} end}).`, timeoutMs);
    const reply = await this.channel.rpc('erl_eval', 'exprs', [exprs, await this.bindings(bindings, timeoutMs)], { timeoutMs });
    if (reply instanceof Tuple && reply.size === 2 && isAtom(reply.at(0), VALUE_TAG)) return reply.at(1) as Term;
    throw new UnexpectedReplyError(`{'${VALUE_TAG}', Value} from the evaluated expression`, reply);
  }

  private async parse(source: string, timeoutMs: number): Promise<Term> {
    const cached = this.parsed.get(source);
    if (cached !== undefined) return cached;
    const chars = [...source].map((c) => c.codePointAt(0) as number);
    const scanned = await this.channel.rpc('erl_scan', 'string', [chars], { timeoutMs });
    if (!(scanned instanceof Tuple) || !isAtom(scanned.elements[0], 'ok')) {
      throw new Error(`internal error: Erlang snippet does not scan: ${source}`);
    }
    const parsed = await this.channel.rpc('erl_parse', 'parse_exprs', [scanned.elements[1] as Term], { timeoutMs });
    if (!(parsed instanceof Tuple) || !isAtom(parsed.elements[0], 'ok')) {
      throw new Error(`internal error: Erlang snippet does not parse: ${source}`);
    }
    const exprs = parsed.elements[1] as Term;
    this.parsed.set(source, exprs);
    return exprs;
  }

  private async bindings(values: Record<string, Term>, timeoutMs: number): Promise<Term> {
    // erl_eval bindings are an orddict up to OTP 25 and may be a map later: ask the target once.
    if (this.bindingsAsMap === undefined) {
      const empty = await this.channel.rpc('erl_eval', 'new_bindings', [], { timeoutMs });
      this.bindingsAsMap = !Array.isArray(empty);
    }
    const names = Object.keys(values).sort();
    if (this.bindingsAsMap) {
      return new ErlMap(names.map((n) => [Atom.of(n), values[n] as Term]));
    }
    return names.map((n) => new Tuple([Atom.of(n), values[n] as Term]));
  }
}
