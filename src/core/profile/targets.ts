// Which processes to profile: a pid as the node prints it, a registered name (Elixir names as
// written in Elixir, `Demo.PricingWorker`), or the K busiest by reductions over a short window.
import { BeamLensError } from '../../errors';
import { Pid } from '../../etf';
import { parsePid } from '../target/pids';
import { processRows } from '../inspect/processes';
import type { Attachment } from '../attach/attachment';

export interface ProfileTarget {
  pid: Pid;
  pidText: string;
  name: string | null;
  initialCall: string | null;
  /** Reductions per second over the selection window (--top). */
  reductionRate?: number;
}

function notFound(message: string): BeamLensError {
  return new BeamLensError('notFound', message);
}

// Only atoms the node already has: a mistyped name must not add an atom to its table.
const WHEREIS = `
lists:foldl(fun(_, P) when is_pid(P) -> P;
               (B, none) -> try whereis(binary_to_existing_atom(B, utf8)) of P when is_pid(P) -> P; _ -> none catch error:badarg -> none end
            end, none, Names).`;

async function whereis(session: Attachment, name: string): Promise<Pid | null> {
  const candidates = /^[A-Z]/.test(name) && !name.startsWith('Elixir.') ? [`Elixir.${name}`, name] : [name.replace(/^:/, '')];
  const reply = await session.evaluator.eval(WHEREIS, { Names: candidates.map((c) => Buffer.from(c, 'utf8')) });
  return reply instanceof Pid ? reply : null;
}

/** Resolves pids and registered names; refuses what is not a live local process. */
export async function resolveTargets(session: Attachment, specs: readonly string[]): Promise<ProfileTarget[]> {
  const pids: Pid[] = [];
  for (const spec of specs) {
    const text = spec.trim();
    if (text.startsWith('<')) pids.push(await parsePid(session.connection, text));
    else {
      const pid = await whereis(session, text);
      if (pid === null) throw notFound(`no process is registered as ${text} on ${session.node}; give a pid (<0.123.0>) or a registered name (see \`beam-lens processes\`)`);
      pids.push(pid);
    }
  }
  const rows = await processRows(session.connection, session.evaluator, pids);
  return rows.map((row, i) => {
    if (row === null) throw notFound(`process ${specs[i] ?? ''} is not alive on ${session.node}`);
    return { pid: pids[i] as Pid, pidText: row.pid, name: row.name, initialCall: row.initialCall };
  });
}

/** The K processes with the most reductions over `windowMs` (BEAM Lens's own processes left out). */
export async function busiestProcesses(session: Attachment, k: number, windowMs = 1000): Promise<ProfileTarget[]> {
  const page = await session.processes({ sort: 'reduction-rate', offset: 0, limit: k + 4, windowMs });
  const rows = page.rows.filter((r) => !(r.name ?? '').startsWith('beam_lens_')).slice(0, k);
  if (rows.length === 0) throw notFound(`no process on ${session.node} did any work over ${windowMs} ms`);
  const targets: ProfileTarget[] = [];
  for (const r of rows) {
    targets.push({ pid: await parsePid(session.connection, r.pid), pidText: r.pid, name: r.name, initialCall: r.initialCall, ...(r.reductionRate !== undefined ? { reductionRate: r.reductionRate } : {}) });
  }
  return targets;
}
