// Processes grouped by the module they run, for the editor's lenses, collected cheaply enough to
// repeat while attached. The node runs compiled code only: erl_eval evaluates a few top-level
// calls, and the per-process steps are OTP functions applied as external funs by lists:zipwith/3
// (no interpreted step per process, no code loaded). Which module a process runs never changes
// (proc_lib's '$initial_call', else its initial call), so it is read once per process, for pids
// we have not seen. Every pass reads message_queue_len and reductions, which the VM answers
// without involving the process; memory needs the process itself to answer (a signal to each,
// ~1.5 us here), so it is read again only for processes that ran or got messages since the last
// pass (their queue changed, or their reductions by more than the one our own memory read costs
// them): an idle process's memory does not change. The pid
// list crosses the wire only when it changed (the node compares its phash2 with the last one we
// saw). Aggregation is done here, so the probe is not needed (the same pass with or without it).
// A few modules are trampolines: the process starts there and runs another module for good
// (RabbitMQ's rabbit_prequeue becomes rabbit_amqqueue_process and says so in its process_name;
// ejabberd's xmpp_stream_in runs the callback module of its supervisor's child spec). For those
// processes only, the one naming rule (src/core/inspect/identity.ts) is applied on the node, once
// per process, at most TRAMPOLINE_BATCH per pass, so the editor's counts agree with every other
// view without reading every process's dictionary (on OTP 25 that copies the whole dictionary).
import { Atom, Pid, Term, Tuple, formatModule, isAtom } from '../../etf';
import { IDENT_FUN, SPEC_MODULE_FUN } from '../inspect/identity';
import { pidText } from '../target/pids';
import type { RemoteEvaluator } from '../target/remote-eval';
import { asList, asNumber, asTuple } from '../target/terms';

/** One module's row (runtime-facts.ts's ModuleSummaryRow has this shape). */
export interface SummaryRow {
  module: string;
  processes: number;
  memory: number;
  messages: number;
  largestMailbox: number;
  /** Full pid text of the largest queue (for growth tracking across collections). */
  largestMailboxPid: string;
  sourceHint?: string;
}

// T is the pass's own time on the node (its monotonic clock), what the schedule budgets. The pid
// list and the values are cut in chunks of C processes, each hashed (phash2) on the node; only the
// chunks whose hashes differ from the ones we hold (KP for pids, KV for values) come back, at most
// Max chunks per reply (a million pids in one reply is over 80 MB: more than a frame may be), with
// how many differed: we ask again for the rest. On an idle node the reply is the hashes and the
// few chunks where something ran. The chunking runs once per chunk in erl_eval (~100 steps at a
// million processes); every per-process step is compiled code.
export const PASS = `
T0 = erlang:monotonic_time(microsecond),
Ps = lists:delete(self(), erlang:processes()),
Vals = lists:zipwith(fun erlang:process_info/2, Ps, lists:duplicate(length(Ps), [message_queue_len, reductions])),
N = length(Ps),
Split = fun S(L, Rem, Acc) when Rem =< C -> lists:reverse([L | Acc]); S(L, Rem, Acc) -> {A, B} = lists:split(C, L), S(B, Rem - C, [A | Acc]) end,
PC = Split(Ps, N, []),
VC = Split(Vals, N, []),
PH = [erlang:phash2(X) || X <- PC],
VH = [erlang:phash2(X) || X <- VC],
Fit = fun(K) -> lists:sublist(K ++ lists:duplicate(length(PC), -1), length(PC)) end,
Changed = [{I, case PHi =:= KPi of true -> same; false -> Pc end, Vc}
           || {I, {{Pc, Vc, PHi}, {VHi, KPi, KVi}}} <- lists:zip(lists:seq(1, length(PC)), lists:zip(lists:zip3(PC, VC, PH), lists:zip3(VH, Fit(KP), Fit(KV)))),
              PHi =/= KPi orelse VHi =/= KVi],
T = erlang:monotonic_time(microsecond) - T0,
{N, PH, VH, lists:sublist(Changed, Max), length(Changed), T}.`;

/** Processes per chunk of the pass, chunks per reply, and pids per memory/module read. */
export const PASS_CHUNK = 2_000;
export const PASS_MAX_CHUNKS = 100;
export const READ_CHUNK = 100_000;

const MEMORY_OF = `
T0 = erlang:monotonic_time(microsecond),
R = lists:zipwith(fun erlang:process_info/2, Ps, lists:duplicate(length(Ps), memory)),
{R, erlang:monotonic_time(microsecond) - T0}.`;

// translate_initial_call/1 reads '$initial_call' (it copies the dictionary: once per process).
const MODULES_OF = `
T0 = erlang:monotonic_time(microsecond),
R = {lists:zipwith(fun erlang:process_info/2, Ps, lists:duplicate(length(Ps), initial_call)),
     lists:map(fun proc_lib:translate_initial_call/1, Ps)},
{R, erlang:monotonic_time(microsecond) - T0}.`;

// The naming rule's module for trampoline processes: process_name's type, else the child spec's
// module (one get_childspec per parent, cached), else undefined (not named yet, or gone).
const NAMED_OF = `${IDENT_FUN}${SPEC_MODULE_FUN}
T0 = erlang:monotonic_time(microsecond),
{R, _} = lists:mapfoldl(fun(P, Cache) ->
  case Ident(P) of
    {IT, _, _} when IT =/= undefined -> {IT, Cache};
    _ -> SpecModule(P, Cache)
  end
end, #{}, Ps),
{R, erlang:monotonic_time(microsecond) - T0}.`;

/** Modules a process starts in and leaves for another one (see the header). */
export const TRAMPOLINES = new Set(['rabbit_prequeue', 'xmpp_stream_in', 'xmpp_stream_out']);
/** Trampoline processes named per pass, and passes a not-yet-named one is asked again. */
const TRAMPOLINE_BATCH = 2000;
const TRAMPOLINE_TRIES = 5;

const SOURCES_OF = `
Src = fun(M) ->
  try M:module_info(compile) of C -> case lists:keyfind(source, 1, C) of {source, S} -> S; _ -> undefined end
  catch _:_ -> undefined end
end,
[case is_atom(M) andalso code:is_loaded(M) of false -> undefined; _ -> Src(M) end || M <- Mods].`;

/** The module a process belongs to, from its initial call and proc_lib's translation of it. */
export function moduleOf(initialCall: Term, translated: Term): string | null {
  const mfa = (t: Term): [Atom, Atom] | null => (t instanceof Tuple && t.size === 3 && t.at(0) instanceof Atom && t.at(1) instanceof Atom ? [t.at(0) as Atom, t.at(1) as Atom] : null);
  const tr = mfa(translated);
  // A supervisor's '$initial_call' is {supervisor, CallbackModule, 1}: it runs its callback module.
  if (tr && tr[0].name === 'supervisor' && tr[1].name !== 'init') return tr[1].name;
  if (tr && !(tr[0].name === 'proc_lib' && tr[1].name === 'init_p')) return tr[0].name;
  const ic = initialCall instanceof Tuple && initialCall.size === 2 ? mfa(initialCall.at(1) as Term) : null;
  return ic ? ic[0].name : null;
}

export class ModuleSummarizer {
  /** What we hold of the node's pass, chunk by chunk, with the hashes the node gave for each. */
  private pidChunks: Pid[][] = [];
  private valChunks: Term[][] = [];
  private knownPH: number[] = [];
  private knownVH: number[] = [];
  private pids: Pid[] = [];
  private readonly moduleByPid = new Map<string, string | null>();
  /** Trampoline pids asked and still unnamed (how many times). */
  private readonly namedTries = new Map<string, number>();
  private readonly sourceByModule = new Map<string, string | null>();
  /** pid key -> what the last pass saw (memory re-read when reductions or queue changed). */
  private readonly seen = new Map<string, { reds: number; q: number; mem: number }>();
  /**
   * The last pass: processes seen, whether the pid list was shipped, how many pids were new, the
   * pass's time on the node's clock (what recurs every collection) and the one-off time spent
   * reading the modules of new pids.
   */
  lastPass = { processes: 0, pidsShipped: false, newPids: 0, trampolines: 0, memoryReads: 0, nodeMs: 0, newPidsNodeMs: 0 };

  constructor(
    private readonly evaluator: RemoteEvaluator,
    private readonly node: string,
    /** Chunk sizes (tests use small ones). */
    private readonly sizes = { chunk: PASS_CHUNK, maxChunks: PASS_MAX_CHUNKS, read: READ_CHUNK },
  ) {}

  /** The pass, asked again while chunks are still missing (at most a few rounds: a node whose processes keep changing may not settle). */
  private async pass(opts: { timeoutMs: number; signal?: AbortSignal }): Promise<{ vals: Term[]; nodeMs: number; shipped: boolean }> {
    let nodeMs = 0;
    let shipped = false;
    for (let round = 0; ; round++) {
      const reply = asTuple(
        await this.evaluator.eval(PASS, { KP: this.knownPH, KV: this.knownVH, C: this.sizes.chunk, Max: this.sizes.maxChunks }, opts),
        6,
      ).elements;
      const ph = asList(reply[1] as Term).map((x) => asNumber(x));
      const vh = asList(reply[2] as Term).map((x) => asNumber(x));
      const sent = asList(reply[3] as Term);
      const changed = asNumber(reply[4] as Term);
      nodeMs += asNumber(reply[5] as Term) / 1000;
      for (const c of sent) {
        const [i, pids, vals] = asTuple(c, 3).elements;
        const idx = asNumber(i as Term) - 1;
        if (!isAtom(pids as Term, 'same')) {
          this.pidChunks[idx] = asList(pids as Term) as Pid[];
          this.knownPH[idx] = ph[idx] as number;
          shipped = true;
        }
        this.valChunks[idx] = asList(vals as Term);
        this.knownVH[idx] = vh[idx] as number;
      }
      for (const arr of [this.pidChunks, this.valChunks]) arr.length = ph.length;
      // Chunks not received yet are unknown (-1: no hash matches it); no holes go to the node.
      this.knownPH = Array.from({ length: ph.length }, (_, k) => this.knownPH[k] ?? -1);
      this.knownVH = Array.from({ length: vh.length }, (_, k) => this.knownVH[k] ?? -1);
      const maxRounds = Math.ceil(ph.length / this.sizes.maxChunks) + 3;
      if (changed <= sent.length || round + 1 >= maxRounds) break;
    }
    // Chunks kept from different rounds can overlap on a node whose process list moved: each pid once.
    const pids: Pid[] = [];
    const vals: Term[] = [];
    const taken = new Set<string>();
    this.pidChunks.forEach((chunk, ci) => {
      const v = this.valChunks[ci] ?? [];
      chunk.forEach((p, j) => {
        if (taken.has(p.key) || v[j] === undefined) return;
        taken.add(p.key);
        pids.push(p);
        vals.push(v[j] as Term);
      });
    });
    this.pids = pids;
    return { vals, nodeMs, shipped };
  }

  /** Evaluates `source` over `ps` in slices of READ_CHUNK pids (bounded messages both ways); results concatenated. */
  private async chunked(source: string, ps: Pid[], opts: { timeoutMs: number; signal?: AbortSignal }): Promise<{ results: Term[][]; nodeMs: number }> {
    const results: Term[][] = [];
    let nodeMs = 0;
    for (let start = 0; start < ps.length; start += this.sizes.read) {
      const [r, t] = asTuple(await this.evaluator.eval(source, { Ps: ps.slice(start, start + this.sizes.read) }, opts), 2).elements;
      nodeMs += asNumber(t as Term) / 1000;
      results.push(r instanceof Tuple ? r.elements.map((x) => asList(x as Term)) : [asList(r as Term)]);
    }
    return { results, nodeMs };
  }

  async summarize(limit = 2000, signal?: AbortSignal): Promise<SummaryRow[]> {
    const opts = { timeoutMs: 120_000, ...(signal ? { signal } : {}) };
    const { vals, nodeMs, shipped } = await this.pass(opts);
    if (shipped) {
      const alive = new Set(this.pids.map((p) => p.key));
      for (const k of this.moduleByPid.keys()) if (!alive.has(k)) this.moduleByPid.delete(k);
      for (const k of this.namedTries.keys()) if (!alive.has(k)) this.namedTries.delete(k);
      for (const k of this.seen.keys()) if (!alive.has(k)) this.seen.delete(k);
    }
    let newPidsNodeMs = 0;
    if (vals.length !== this.pids.length) throw new Error(`internal error: ${vals.length} values for ${this.pids.length} processes`);
    const unknown = this.pids.filter((p) => !this.moduleByPid.has(p.key));
    if (unknown.length > 0) {
      const { results, nodeMs: t } = await this.chunked(MODULES_OF, unknown, opts);
      newPidsNodeMs = t;
      const ics = results.flatMap((r) => r[0] ?? []);
      const translated = results.flatMap((r) => r[1] ?? []);
      unknown.forEach((p, i) => this.moduleByPid.set(p.key, moduleOf(ics[i] as Term, translated[i] as Term)));
    }
    const trampolines = this.pids
      .filter((p) => TRAMPOLINES.has(this.moduleByPid.get(p.key) ?? '') && (this.namedTries.get(p.key) ?? 0) < TRAMPOLINE_TRIES)
      .slice(0, TRAMPOLINE_BATCH);
    if (trampolines.length > 0) {
      const [r, t] = asTuple(await this.evaluator.eval(NAMED_OF, { Ps: trampolines }, opts), 2).elements;
      newPidsNodeMs += asNumber(t) / 1000;
      const named = asList(r as Term);
      trampolines.forEach((p, i) => {
        const m = named[i];
        if (m instanceof Atom && m.name !== 'undefined') {
          this.moduleByPid.set(p.key, m.name);
          this.namedTries.delete(p.key);
        } else this.namedTries.set(p.key, (this.namedTries.get(p.key) ?? 0) + 1);
      });
    }
    // Memory only where it can have changed.
    const current: Array<{ q: number; reds: number } | null> = vals.map((v) =>
      Array.isArray(v) && v.length === 2 ? { q: asNumber((v[0] as Tuple).at(1)), reds: asNumber((v[1] as Tuple).at(1)) } : null,
    );
    const firstPass = this.seen.size === 0;
    const newKeys = new Set(unknown.map((p) => p.key));
    const stale: number[] = [];
    current.forEach((c, i) => {
      if (c === null) return;
      const before = this.seen.get((this.pids[i] as Pid).key);
      // Our own reads are accounted for in before.reds (see below); one more is tolerated.
      if (before === undefined || c.reds - before.reds > 1 || before.q !== c.q) stale.push(i);
      else {
        before.reds = c.reds;
        before.q = c.q;
      }
    });
    let memoryNodeMs = 0;
    if (stale.length > 0) {
      const { results, nodeMs: t } = await this.chunked(MEMORY_OF, stale.map((i) => this.pids[i] as Pid), opts);
      memoryNodeMs = t;
      results.flatMap((r) => r[0] ?? []).forEach((m, j) => {
        const i = stale[j] as number;
        const c = current[i];
        // Each read the process itself must answer costs it one reduction: this memory read, and
        // for a new pid translate_initial_call's dictionary read before it.
        const key = (this.pids[i] as Pid).key;
        if (c && m instanceof Tuple) this.seen.set(key, { reds: c.reds + 1 + (newKeys.has(key) ? 1 : 0), q: c.q, mem: asNumber(m.at(1)) });
        else current[i] = null; // died meanwhile
      });
    }
    this.lastPass = { processes: this.pids.length, pidsShipped: shipped, newPids: unknown.length, trampolines: trampolines.length, memoryReads: stale.length, nodeMs: nodeMs + (firstPass ? 0 : memoryNodeMs), newPidsNodeMs: newPidsNodeMs + (firstPass ? memoryNodeMs : 0) };

    const byModule = new Map<string, { n: number; mem: number; q: number; maxQ: number; maxP: Pid }>();
    for (let i = 0; i < current.length; i++) {
      const c = current[i];
      if (!c) continue; // died meanwhile
      const pid = this.pids[i] as Pid;
      const q = c.q;
      const mem = this.seen.get(pid.key)?.mem ?? 0;
      const module = this.moduleByPid.get(pid.key) ?? 'undefined';
      const acc = byModule.get(module);
      if (acc === undefined) byModule.set(module, { n: 1, mem, q, maxQ: q, maxP: pid });
      else {
        acc.n++;
        acc.mem += mem;
        acc.q += q;
        if (q > acc.maxQ) {
          acc.maxQ = q;
          acc.maxP = pid;
        }
      }
    }
    const top = [...byModule.entries()].sort((a, b) => b[1].n - a[1].n).slice(0, limit);
    const missing = top.map(([m]) => m).filter((m) => !this.sourceByModule.has(m));
    if (missing.length > 0) {
      const sources = asList(await this.evaluator.eval(SOURCES_OF, { Mods: missing.map((m) => Atom.of(m)) }, opts));
      missing.forEach((m, i) => this.sourceByModule.set(m, charlistOrNull(sources[i] as Term)));
    }
    return top.map(([m, a]) => {
      const source = this.sourceByModule.get(m) ?? null;
      return {
        module: m === 'undefined' ? 'undefined' : formatModule(m),
        processes: a.n,
        memory: a.mem,
        messages: a.q,
        largestMailbox: a.maxQ,
        largestMailboxPid: pidText(a.maxP, this.node),
        ...(source !== null ? { sourceHint: source } : {}),
      };
    });
  }
}

function charlistOrNull(t: Term): string | null {
  if (Buffer.isBuffer(t)) return t.toString('utf8');
  if (Array.isArray(t) && t.every((c) => typeof c === 'number')) return String.fromCodePoint(...(t as number[]));
  return null;
}
