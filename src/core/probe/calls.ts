// Calls into the loaded probe. The probe ranks on the target and returns only a page.
import { RpcError } from '../../erldist';
import { Atom, Pid } from '../../etf';
import { processRows, sortKeyItem, type ProcessPage, type ProcessQuery, type ProcessRow } from '../inspect/processes';
import { PROBE_MODULE } from './loader';
import type { RemoteEvaluator } from '../target/remote-eval';
import type { RpcChannel } from '../target/rpc';
import { asList, asNumber, asTuple } from '../target/terms';

export async function topProbeProcesses(channel: RpcChannel, evaluator: RemoteEvaluator, query: ProcessQuery): Promise<ProcessPage> {
  const windowMs = query.windowMs ?? 1000;
  // Linked to us: the pass stops on the target if we time out or the query is cancelled.
  const signal = query.signal ? { signal: query.signal } : {};
  const reply =
    query.sort === 'reduction-rate'
      ? await evaluator.call(PROBE_MODULE, 'reduction_window', [query.offset, query.limit, windowMs, []], { timeoutMs: windowMs + 120_000, ...signal })
      : await evaluator.call(PROBE_MODULE, 'top_processes', [Atom.of(sortKeyItem(query.sort)), query.offset, query.limit, []], { timeoutMs: 120_000, ...signal });
  const [total, ranked] = asTuple(reply, 2).elements;
  const entries = asList(ranked).map((r) => {
    const [pid, value] = asTuple(r, 3).elements;
    return { pid: pid as Pid, value: asNumber(value) };
  });
  const rows = await processRows(channel, evaluator, entries.map((e) => e.pid));
  const page: ProcessRow[] = [];
  rows.forEach((row, i) => {
    if (row === null) return;
    if (query.sort === 'reduction-rate') row.reductionRate = Math.round(((entries[i]?.value ?? 0) * 1000) / windowMs);
    // The sorted column shows the value the probe ranked by (a re-read could have moved): monotonic.
    else if (entries[i] !== undefined) row[query.sort === 'memory' ? 'memory' : query.sort === 'mailbox' ? 'messageQueueLen' : 'reductions'] = (entries[i] as { value: number }).value;
    page.push(row);
  });
  return {
    total: asNumber(total),
    sort: query.sort,
    offset: query.offset,
    rows: page,
    via: 'probe',
    ...(query.sort === 'reduction-rate' ? { windowMs } : {}),
  };
}


/**
 * Asks the probe to read memory and current function of every process into its cache in the
 * background (one low-priority pass; a query arriving meanwhile takes over where it stopped), so
 * that the first memory sort or filter of a process table on a large node finds the cache warm.
 * Returns at once: 'started', or 'already' (warm, or a pass is running). A probe of an older
 * BEAM Lens has no warm-up: 'unsupported'. The pass is ours (the rpc's group leader, i.e. this
 * connection, is its requester): it stops on the node, keeping what it read, when we detach or
 * our connection dies and no other BEAM Lens asked for it too.
 */
export async function warmProbeCache(channel: RpcChannel): Promise<'started' | 'already' | 'unsupported'> {
  try {
    const reply = await channel.rpc(PROBE_MODULE, 'warm_cache', [], { timeoutMs: 10_000 });
    return reply instanceof Atom && reply.name === 'started' ? 'started' : 'already';
  } catch (err) {
    if (err instanceof RpcError && /undef/.test(err.reason)) return 'unsupported';
    throw err;
  }
}
