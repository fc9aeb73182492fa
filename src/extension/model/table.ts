// When a process-table query will be slow on a node (pure, unit-tested): the table offers the
// probe with consent then, and says why.
import { SLOW_FILTER_PROCESSES } from '../../core/inspect/process-filter';
import type { TableQuery } from '../../protocol/webview';

/** Above this many processes a sort without the probe takes seconds (pids travel in chunks). */
export const SLOW_SORT_PROCESSES = 200_000;

/** Whether a query on a node of `processes` processes will be slow, and why (null: it will not). */
export function slowQuery(q: TableQuery, processes: number, probe: boolean): string | null {
  if (probe) return null;
  const filtered = q.filter.trim() !== '';
  const n = processes.toLocaleString('en-US');
  if (filtered && processes > SLOW_FILTER_PROCESSES) return `filtering ${n} processes without the probe runs interpreted on the node: about a minute per query (seconds with the probe)`;
  if (!filtered && processes > SLOW_SORT_PROCESSES) return `sorting ${n} processes without the probe ships every pid over the network: several seconds per page (under 2 s with the probe)`;
  return null;
}

