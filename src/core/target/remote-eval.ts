// Evaluates a short Erlang expression on the target with erl_eval: nothing is loaded or written
// there. Used to compose several BIF calls into one round trip (e.g. switch a flag on, sample,
// switch it back) where a sequence of separate rpcs would leave state behind between calls.
//
// Work we start must stop when we stop waiting for it: with a channel that can spawn local
// processes, every evaluation first links the rpc worker on the target to a guard process of
// ours. When the call times out or is cancelled the guard exits with a reason, so the linked
// worker dies with it; when the connection drops the link breaks (noconnection) and the worker
// dies too. No interpreted pass is left running on the node after we gave up on it.
// A node reached through another (a cluster member through its entry) is not connected to us: its
// evaluation is relayed by an evaluation on the entry, linked to our guard there, and the member's
// worker links to that relaying process, so the chain ends as one when we stop waiting.
import { BeamLensError } from '../../errors';
import { RpcError, type LocalProcess } from '../../erldist';
import { Atom, ErlMap, Term, Tuple, formatTerm, isAtom } from '../../etf';
import type { RpcChannel } from './rpc';
import { UnexpectedReplyError } from './terms';

const VALUE_TAG = '$beam_lens_value';
const GUARD = 'BeamLensGuard__';
/** On a relayed node: the sentinel on the node in between that the worker links to. */
const UP = 'BeamLensUp__';

// Runs on the node in between. The target's worker links to a sentinel here that ends as this
// process ends: with its reason when we stop waiting (our guard's link, our connection dropping),
// which takes the worker with it; normally when the answer came. Not to this process itself: the
// worker always ends with a non-normal reason (erpc's result), which must not end this one.
const RELAY = `
Caller = self(),
Up = spawn(fun() -> Mon = erlang:monitor(process, Caller), receive {'DOWN', Mon, process, _, Why} -> exit(Why) end end),
B2 = case B of #{} -> maps:put('${UP}', Up, B); _ -> lists:keystore('${UP}', 1, B, {'${UP}', Up}) end,
rpc:call(Target, erl_eval, exprs, [Exprs, B2], T).`;

/** How to evaluate on a node reached through another one: the evaluator of the node in between. */
export interface RelayedEval {
  via: RemoteEvaluator;
}

export interface EvalOptions {
  timeoutMs?: number;
  /** Aborting stops the evaluation on the target (the worker is killed) and rejects. */
  signal?: AbortSignal;
}

/** A channel that can also spawn local processes (NodeConnection); plain RpcChannels evaluate unlinked. */
export type EvalChannel = RpcChannel & { spawn?: () => LocalProcess; relay?: RelayedEval };

export class RemoteEvaluator {
  private readonly parsed = new Map<string, Term>();
  private bindingsAsMap: boolean | undefined;

  /** `before` is awaited before the first rpc (the session's snapshot of loaded modules). */
  constructor(
    private readonly channel: EvalChannel,
    private readonly before: Promise<unknown> = Promise.resolve(),
  ) {}

  /**
   * Evaluates `source` (one or more expressions separated by commas, ending with a period)
   * with the given variable bindings, and returns the value of the last expression.
   */
  async eval(source: string, bindings: Record<string, Term> = {}, timeoutOrOptions: number | EvalOptions = 10_000): Promise<Term> {
    const options = typeof timeoutOrOptions === 'number' ? { timeoutMs: timeoutOrOptions } : timeoutOrOptions;
    const timeoutMs = options.timeoutMs ?? 10_000;
    options.signal?.throwIfAborted();
    await this.before.catch(() => undefined);
    // erl_eval returns every binding with the value: the inputs and whatever the snippet bound
    // (a list of 100,000 children, say). Throwing the value instead makes rex answer with it
    // alone (rpc returns thrown values as results), so only the answer crosses the wire.
    const body = source.trim().replace(/\.$/, '');
    const relay = this.channel.relay;
    if (relay !== undefined) return this.evalRelayed(relay, body, bindings, timeoutMs, options.signal);
    const guard = this.guardProcess();
    const exprs = await this.parse(guard ? `link(${GUARD}), throw({'${VALUE_TAG}', begin ${body} end}).` : `throw({'${VALUE_TAG}', begin ${body} end}).`, timeoutMs);
    const all = guard ? { ...bindings, [GUARD]: guard.pid } : bindings;
    const call = this.channel.rpc('erl_eval', 'exprs', [exprs, await this.bindings(all, timeoutMs)], { timeoutMs });
    let reply: Term;
    if (guard === undefined) {
      reply = await call;
    } else {
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(options.signal?.reason instanceof Error ? options.signal.reason : new Error('cancelled'));
        options.signal?.addEventListener('abort', onAbort, { once: true });
      });
      let outcome: Term = atom('cancelled');
      try {
        reply = await Promise.race([call, aborted]);
        outcome = atom('normal');
      } finally {
        if (onAbort) options.signal?.removeEventListener('abort', onAbort);
        // normal: the worker is done and ignores it; otherwise the linked worker dies with us.
        guard.exit(outcome);
        call.catch(() => undefined);
      }
    }
    if (reply instanceof Tuple && reply.size === 2 && isAtom(reply.at(0), VALUE_TAG)) return reply.at(1) as Term;
    throw new UnexpectedReplyError(`{'${VALUE_TAG}', Value} from the evaluated expression`, reply);
  }

  /** Through the node in between: linked there to our guard, and the target's worker to the relaying process. */
  private async evalRelayed(relay: RelayedEval, body: string, bindings: Record<string, Term>, timeoutMs: number, signal: AbortSignal | undefined): Promise<Term> {
    const exprs = await this.parse(`link(${UP}), throw({'${VALUE_TAG}', begin ${body} end}).`, timeoutMs);
    const b = await this.bindings({ ...bindings, [UP]: atom('undefined') }, timeoutMs);
    const reply = await relay.via.eval(RELAY, { Target: Atom.of(this.channel.peer), Exprs: exprs, B: b, T: timeoutMs }, { timeoutMs: timeoutMs + 2000, ...(signal ? { signal } : {}) });
    if (reply instanceof Tuple && reply.size === 2 && isAtom(reply.at(0), 'badrpc')) {
      // As a relayed rpc fails ({badrpc, timeout} / nodedown): the member's status follows from it.
      const reason = formatTerm(reply.at(1) as Term, { localNode: Atom.of(this.channel.peer), maxLength: 500 });
      throw new RpcError(`rpc erl_eval:exprs/2 failed on ${this.channel.peer}: ${reason}`, reason);
    }
    if (reply instanceof Tuple && reply.size === 2 && isAtom(reply.at(0), VALUE_TAG)) return reply.at(1) as Term;
    throw new UnexpectedReplyError(`{'${VALUE_TAG}', Value} from the evaluated expression`, reply);
  }

  /** M:F(Args...) on the target, linked like eval (so it stops when we stop waiting). */
  call(module: string, fun: string, args: Term[], options: EvalOptions = {}): Promise<Term> {
    const names = args.map((_, i) => `A${i + 1}`);
    const bindings: Record<string, Term> = {};
    args.forEach((a, i) => (bindings[`A${i + 1}`] = a));
    return this.eval(`${quoteAtom(module)}:${quoteAtom(fun)}(${names.join(', ')}).`, bindings, options);
  }

  /**
   * A local process to link the target's worker to, or undefined when the channel has none or
   * cannot make one here (a cluster member reached through another node is not connected to us).
   */
  private guardProcess(): LocalProcess | undefined {
    try {
      return this.channel.spawn?.();
    } catch (err) {
      if (err instanceof BeamLensError && err.kind === 'capability') return undefined;
      throw err;
    }
  }

  private async parse(source: string, timeoutMs: number): Promise<Term> {
    await this.before.catch(() => undefined);
    const cached = this.parsed.get(source);
    if (cached !== undefined) return cached;
    const chars = [...source].map((c) => c.codePointAt(0) as number);
    const scanned = await this.channel.rpc('erl_scan', 'string', [chars], { timeoutMs });
    if (!(scanned instanceof Tuple) || !isAtom(scanned.elements[0], 'ok')) {
      throw new BeamLensError('internal', `internal error: Erlang snippet does not scan: ${source}`);
    }
    const parsed = await this.channel.rpc('erl_parse', 'parse_exprs', [scanned.elements[1] as Term], { timeoutMs });
    if (!(parsed instanceof Tuple) || !isAtom(parsed.elements[0], 'ok')) {
      throw new BeamLensError('internal', `internal error: Erlang snippet does not parse: ${source}`);
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

const atom = (name: string): Atom => Atom.of(name);

function quoteAtom(name: string): string {
  return /^[a-z][A-Za-z0-9_@]*$/.test(name) ? name : `'${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
