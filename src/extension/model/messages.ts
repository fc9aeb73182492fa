// Host-side checks of webview messages (pure, unit-tested): a webview's JSON is untrusted input.
// Each view has a type guard for its whole toHost union; a message that fails it is dropped.
import type { ClusterToHost, DashboardToHost, FlameToHost, DetailToHost, ReportToHost, TableQuery, TableToHost, TreeToHost, WebviewMessages, WebviewName } from '../../protocol/webview';
import { isProcessSort, isRecord } from './args';

const MAX_TEXT = 1000;

function text(x: unknown, max = MAX_TEXT): x is string {
  return typeof x === 'string' && x.length > 0 && x.length <= max;
}

function count(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

/** A query from the webview is untrusted input: clamp it. */
export function sanitizeQuery(q: TableQuery): TableQuery {
  return {
    sort: isProcessSort(q.sort) ? q.sort : 'memory',
    offset: Number.isInteger(q.offset) && q.offset >= 0 ? Math.min(q.offset, 10_000_000) : 0,
    limit: Number.isInteger(q.limit) && q.limit > 0 ? Math.min(q.limit, 500) : 200,
    filter: typeof q.filter === 'string' ? q.filter.slice(0, 200) : '',
  };
}

export function isTableQuery(x: unknown): x is TableQuery {
  return isRecord(x) && isProcessSort(x.sort) && count(x.offset) && count(x.limit) && typeof x.filter === 'string' && x.filter.length <= MAX_TEXT;
}

export function isTreeToHost(m: unknown): m is TreeToHost {
  if (!isRecord(m)) return false;
  switch (m.type) {
    case 'ready':
    case 'refresh':
      return true;
    case 'openProcess':
      return text(m.pid);
    case 'page':
      return text(m.supervisorPid) && count(m.offset);
    default:
      return false;
  }
}

export function isTableToHost(m: unknown): m is TableToHost {
  if (!isRecord(m)) return false;
  switch (m.type) {
    case 'ready':
      return true;
    case 'query':
      return isTableQuery(m.query);
    case 'openProcess':
    case 'profile':
      return text(m.pid);
    default:
      return false;
  }
}

export function isDetailToHost(m: unknown): m is DetailToHost {
  if (!isRecord(m)) return false;
  switch (m.type) {
    case 'ready':
    case 'refresh':
      return true;
    case 'openProcess':
    case 'showInTree':
    case 'traceMessages':
    case 'profile':
      return text(m.pid);
    default:
      return false;
  }
}

export function isDashboardToHost(m: unknown): m is DashboardToHost {
  if (!isRecord(m)) return false;
  return m.type === 'ready' || (m.type === 'pause' && typeof m.paused === 'boolean');
}

export function isReportToHost(m: unknown): m is ReportToHost {
  if (!isRecord(m)) return false;
  switch (m.type) {
    case 'ready':
    case 'save':
    case 'regenerate':
      return true;
    case 'openFinding':
      return text(m.findingId);
    default:
      return false;
  }
}

export function isClusterToHost(m: unknown): m is ClusterToHost {
  if (!isRecord(m)) return false;
  switch (m.type) {
    case 'ready':
    case 'refresh':
      return true;
    case 'openNode':
      return text(m.node) && (m.view === 'overview' || m.view === 'processes' || m.view === 'tree');
    case 'processes':
      return isProcessSort(m.sort);
    case 'openProcess':
      return text(m.node) && text(m.pid);
    default:
      return false;
  }
}

export function isFlameToHost(m: unknown): m is FlameToHost {
  if (!isRecord(m)) return false;
  switch (m.type) {
    case 'ready':
    case 'saveSpeedscope':
    case 'profileAgain':
      return true;
    case 'openSource':
      return count(m.frame);
    default:
      return false;
  }
}

/** The guard of each webview's messages to the host. */
export const MESSAGE_GUARDS: { [N in WebviewName]: (m: unknown) => m is WebviewMessages[N]['toHost'] } = {
  'supervision-tree': isTreeToHost,
  'process-table': isTableToHost,
  'process-detail': isDetailToHost,
  dashboard: isDashboardToHost,
  report: isReportToHost,
  cluster: isClusterToHost,
  'flame-graph': isFlameToHost,
};
