// Host-side checks of webview messages (pure, unit-tested): a webview's JSON is untrusted input.
import type { TableQuery } from '../../protocol/webview';

/** A query from the webview is untrusted input: clamp it. */
export function sanitizeQuery(q: TableQuery): TableQuery {
  const sorts = ['memory', 'reductions', 'mailbox', 'reduction-rate'] as const;
  return {
    sort: sorts.includes(q.sort) ? q.sort : 'memory',
    offset: Number.isInteger(q.offset) && q.offset >= 0 ? Math.min(q.offset, 10_000_000) : 0,
    limit: Number.isInteger(q.limit) && q.limit > 0 ? Math.min(q.limit, 500) : 200,
    filter: typeof q.filter === 'string' ? q.filter.slice(0, 200) : '',
  };
}
