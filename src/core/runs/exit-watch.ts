// Read-only exit watch for the supervision review: the permanent workers of the user's OTP
// supervisors (restart types read with get_childspec, 2 s per call, only from supervisors whose
// callback module declares the supervisor behaviour), monitored from our own hidden node for the
// window. A monitor sets nothing on the target's processes; it goes away when we demonitor, when
// our node exits the watching process, or when the connection closes. Each DOWN names its reason:
// a permanent child that exits `normal` is restarted although it finished.
import { Atom, Pid, Ref, Tuple, formatTerm, type Term } from '../../etf';
import type { Attachment } from '../attach/attachment';
import { IDENT_FUN, SPEC_MODULE_FUN } from '../inspect/identity';
import { walkTree, type ApplicationTree } from '../inspect/tree';
import { pidText } from '../target/pids';
import { asList, asTuple } from '../target/terms';

/** OTP's and Elixir's own applications: their supervision design is not the user's to change. */
export const PLATFORM_APPS = new Set(['kernel', 'stdlib', 'elixir', 'logger', 'compiler', 'sasl', 'runtime_tools', 'crypto', 'ssl', 'public_key', 'asn1', 'inets', 'mnesia', 'os_mon', 'iex', 'mix', 'hex', 'eex', 'ex_unit', 'tools', 'observer', 'wx', 'ssh', 'xmerl', 'syntax_tools', 'parsetools']);

/** Supervisors asked, workers asked per supervisor, and monitors in all. */
export const EXIT_WATCH_LIMITS = { maxSupervisors: 50, perSupervisor: 50, maxChildren: 200 } as const;

export interface ChildExit {
  supervisor: string;
  /** The child id in its supervisor's spec, as Erlang prints it. */
  childId: string;
  /** The first module of its child spec. */
  module: string | null;
  pid: string;
  reason: string;
}

export interface ExitWatchResult {
  /** Permanent workers watched. */
  watched: number;
  /** Exits seen (each watched process exits at most once: its restart has a new pid). */
  exits: ChildExit[];
  windowMs: number;
}

// For each supervisor: its permanent workers {Pid, Id, Module}, or skipped when it is not an OTP
// supervisor that answers get_childspec (a DynamicSupervisor would crash on the call).
const RESTART_TYPES = `${IDENT_FUN}${SPEC_MODULE_FUN}
Deadline = erlang:monotonic_time(millisecond) + 5000,
[{Sup, case IdentDict(Sup, ['$initial_call']) of
         [{supervisor, Cb, 1}] when is_atom(Cb) ->
           case SpecOtp(Cb) of
             true ->
               %% supervisor's own calls wait forever; a busy supervisor must not hold this process.
               %% The whole read stops asking after 5 s (the rest are skipped).
               Call = fun(Req) -> case erlang:monotonic_time(millisecond) > Deadline of
                                    true -> error;
                                    false -> try gen_server:call(Sup, Req, 2000) catch _:_ -> error end
                                  end end,
               case Call(which_children) of
                 Cs when is_list(Cs) ->
                   Ws = lists:sublist([{P, Id, Ms} || {Id, P, worker, Ms} <- Cs, is_pid(P)], PerSup),
                   [{P, Id, case Ms of [M | _] when is_atom(M) -> M; _ -> undefined end}
                    || {P, Id, Ms} <- Ws, {ok, #{restart := permanent}} <- [Call({get_childspec, Id})]];
                 _ -> skipped
               end;
             false -> skipped
           end;
         _ -> skipped
       end} || Sup <- [erlang:list_to_pid(S) || S <- Texts]].`;

export interface ExitWatch {
  /** Ends the watch (demonitors everything) and returns what exited. */
  stop(): Promise<ExitWatchResult>;
}

/** Starts watching the permanent workers of the user's supervisors in `trees`. */
export async function startExitWatch(session: Attachment, trees: ApplicationTree[]): Promise<ExitWatch> {
  const node = session.node;
  const sups: string[] = [];
  for (const t of trees) {
    if (!t.supervisor || PLATFORM_APPS.has(t.name)) continue;
    for (const { node: n } of walkTree(t.supervisor)) {
      if (n.type === 'supervisor' && n.pid && n.strategy !== undefined && n.strategy !== 'simple_one_for_one' && sups.length < EXIT_WATCH_LIMITS.maxSupervisors) {
        sups.push(n.pid);
      }
    }
  }
  const started = Date.now();
  if (sups.length === 0) return { stop: () => Promise.resolve({ watched: 0, exits: [], windowMs: Date.now() - started }) };
  const reply = await session.evaluator.eval(RESTART_TYPES, { Texts: sups.map((p) => [...p].map((c) => c.charCodeAt(0))), PerSup: EXIT_WATCH_LIMITS.perSupervisor }, 20_000);
  const owner = session.connection.spawn();
  const byRef = new Map<string, Omit<ChildExit, 'reason'>>();
  for (const row of asList(reply)) {
    const [sup, kids] = asTuple(row, 2).elements;
    if (!(sup instanceof Pid) || !Array.isArray(kids)) continue;
    for (const k of kids) {
      if (byRef.size >= EXIT_WATCH_LIMITS.maxChildren) break;
      const [p, id, mod] = asTuple(k, 3).elements;
      if (!(p instanceof Pid)) continue;
      const ref = owner.monitor(p);
      byRef.set(ref.key, {
        supervisor: pidText(sup, node),
        childId: formatTerm(id as Term, { maxLength: 120, localNode: Atom.of(node) }),
        module: mod instanceof Atom && mod.name !== 'undefined' ? mod.name : null,
        pid: pidText(p, node),
      });
    }
  }
  const isDown = (m: Term): Tuple | undefined => (m instanceof Tuple && m.size === 5 && m.at(0) instanceof Atom && (m.at(0) as Atom).name === 'DOWN' && m.at(1) instanceof Ref ? m : undefined);
  return {
    async stop() {
      const exits: ChildExit[] = [];
      try {
        for (;;) {
          const down = await owner.receive(isDown, 0).catch(() => null);
          if (!down) break;
          const known = byRef.get((down.at(1) as Ref).key);
          const reason = down.at(4) as Term;
          // noconnection: our own connection went away, not the child.
          if (known && !(reason instanceof Atom && reason.name === 'noconnection')) exits.push({ ...known, reason: formatTerm(reason, { maxLength: 300, localNode: Atom.of(node) }) });
        }
      } finally {
        owner.exit();
      }
      return { watched: byRef.size, exits, windowMs: Date.now() - started };
    },
  };
}
