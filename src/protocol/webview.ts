// Messages between the extension host and its webviews. Each view has a union per direction;
// both ends switch on `type` exhaustively (see assertNever). Only plain JSON crosses: node data
// (names, atoms, printed terms) is text the webview must render with textContent, never as HTML.
// The DTOs that cross are core's types; webviews get them from here (they import only this file
// and webview/common), so this is the one list of what a webview may see of core.
import type { Finding } from '../core/findings/rules';
import type { Overview } from '../core/inspect/overview';
import type { ProcessDetail } from '../core/inspect/process-detail';
import type { ProcessRow, ProcessSort } from '../core/inspect/processes';
import type { ReportDocument } from '../core/report/document';
import type { ApplicationTree, TreeNode } from '../core/inspect/tree';
import type { ClusterNodeRow, ClusterOverview, ClusterProcessPage, ClusterProcessRow, TopologyEdge } from '../core/cluster/cluster';
import type { ClusterFinding } from '../core/cluster/rules';
import type { FlameProfile } from '../core/profile/flame';

/** The findings' threshold table: webviews color restarts and mailboxes by the same numbers as the findings. */
export { FINDING_THRESHOLDS } from '../core/findings/table';

export type { ApplicationTree, ClusterFinding, ClusterNodeRow, ClusterOverview, ClusterProcessPage, ClusterProcessRow, Finding, Overview, ProcessDetail, ProcessRow, ProcessSort, TopologyEdge, TreeNode };

export function assertNever(x: never): never {
  throw new Error(`unhandled message ${JSON.stringify(x)}`);
}

/** Sent by every webview once its script runs; the host answers with the current state. */
export interface ReadyMessage {
  type: 'ready';
}

// ---- Supervision tree ----------------------------------------------------------------------

/** Health marks for processes in the tree, keyed by pid text. */
export interface ProcessHealth {
  messageQueueLen?: number;
  /** Mailbox growth in messages/s over the last refresh, when known. */
  mailboxGrowth?: number;
  memory?: number;
}

export interface TreeFocus {
  pid?: string;
  name?: string;
  module?: string;
}

export type HostToTree =
  | { type: 'tree'; node: string; apps: ApplicationTree[]; health: Record<string, ProcessHealth>; refreshedAt: number }
  | { type: 'focus'; focus: TreeFocus }
  /** Show one application's tree only (null: all applications). */
  | { type: 'showApp'; app: string | null }
  | { type: 'error'; message: string };

export type TreeToHost =
  | ReadyMessage
  | { type: 'openProcess'; pid: string }
  /** Next page of a large supervisor's children (DynamicSupervisor with thousands of children). */
  | { type: 'page'; supervisorPid: string; offset: number }
  | { type: 'refresh' };

// ---- Process table -------------------------------------------------------------------------

export interface TableQuery {
  sort: ProcessSort;
  offset: number;
  limit: number;
  /** Substring of the registered name, pid or initial/current call; empty for none. */
  filter: string;
}

export interface TablePage {
  query: TableQuery;
  total: number;
  /** Rows matching the filter (equals total without a filter). */
  matched: number;
  rows: ProcessRow[];
  via: 'probe' | 'rpc';
  refreshedAt: number;
  /** Work the host started on the node for this table (e.g. a background read), said in the summary. */
  note?: string;
}

export type HostToTable =
  | { type: 'page'; node: string; page: TablePage }
  | { type: 'error'; message: string };

export type TableToHost =
  | ReadyMessage
  | { type: 'query'; query: TableQuery }
  | { type: 'openProcess'; pid: string }
  | { type: 'profile'; pid: string };

// ---- Process detail ------------------------------------------------------------------------

export type HostToDetail =
  | { type: 'detail'; node: string; detail: ProcessDetail; refreshedAt: number }
  | { type: 'error'; message: string };

export type DetailToHost =
  | ReadyMessage
  | { type: 'openProcess'; pid: string }
  | { type: 'showInTree'; pid: string }
  | { type: 'traceMessages'; pid: string }
  | { type: 'profile'; pid: string }
  | { type: 'refresh' };

// ---- Dashboard -----------------------------------------------------------------------------

export interface DashboardSample {
  at: number;
  memory: Overview['memory'];
  /** Busy fraction 0..1 per normal scheduler and in total; null when not measured. */
  schedulerUtilization: { total: number; perScheduler: number[]; /** The sampling window the numbers cover. */ windowMs?: number } | null;
  runQueue: number;
  processCount: number;
  /** Bytes per second since the previous sample (0 for the first). */
  ioInPerSec: number;
  ioOutPerSec: number;
}

export type HostToDashboard =
  | { type: 'samples'; node: string; samples: DashboardSample[] }
  | { type: 'sample'; sample: DashboardSample }
  | { type: 'error'; message: string };

export type DashboardToHost = ReadyMessage | { type: 'pause'; paused: boolean };

// ---- Report --------------------------------------------------------------------------------

// The report crosses as a typed document (never as Markdown): the webview builds DOM from it
// with text nodes only and addresses findings by id.
export type {
  ColumnType,
  NumberUnit,
  ReportBlock,
  ReportChart,
  ReportDocument,
  ReportFinding,
  ReportSection,
  ReportTable,
  RichText,
  SummaryFact,
  TableCell,
  TableColumn,
  TextSpan,
} from '../core/report/document';

// Charts are drawn from the same pure picture model as the SVG files next to a Markdown report.
export { chartPicture } from '../core/report/chart-picture';
export type { ChartMark, ChartPicture } from '../core/report/chart-picture';

export type HostToReport =
  /** A report to show; `focusFinding` is the id of a finding to scroll to and mark. */
  | { type: 'report'; document: ReportDocument; focusFinding?: string }
  | { type: 'progress'; message: string }
  | { type: 'error'; message: string };

export type ReportToHost = ReadyMessage | { type: 'save' } | { type: 'regenerate' } | { type: 'openFinding'; findingId: string };

// ---- Flame graph ---------------------------------------------------------------------------

// The profile as the flame graph takes it is core's model (src/core/profile/flame.ts).
export type { FlameFrame, FlameProcess, FlameProfile, FlameTree } from '../core/profile/flame';

export type HostToFlame =
  | { type: 'profile'; profile: FlameProfile; search?: string }
  | { type: 'progress'; message: string }
  | { type: 'error'; message: string };

export type FlameToHost =
  | ReadyMessage
  /** Open the source of frame `frame` (index into profile.frames). */
  | { type: 'openSource'; frame: number }
  | { type: 'saveSpeedscope' }
  | { type: 'profileAgain' };
// ---- Cluster overview ----------------------------------------------------------------------

export type HostToCluster =
  | { type: 'cluster'; overview: ClusterOverview; at: number }
  /** The cluster-wide top processes (each row names its node), merged from every member's own top N. */
  | { type: 'processes'; page: ClusterProcessPage; at: number }
  | { type: 'progress'; message: string }
  | { type: 'error'; message: string };

/** The views of one member a tile opens. */
export type ClusterNodeView = 'overview' | 'processes' | 'tree';

export type ClusterToHost =
  | ReadyMessage
  | { type: 'refresh' }
  | { type: 'openNode'; node: string; view: ClusterNodeView }
  /** The cluster-wide top processes by this sort. */
  | { type: 'processes'; sort: ProcessSort }
  /** One process of one member: its detail view. */
  | { type: 'openProcess'; node: string; pid: string };

/** Each webview: its folder under webview/, and the message unions of both directions. */
export interface WebviewMessages {
  'supervision-tree': { toView: HostToTree; toHost: TreeToHost };
  'process-table': { toView: HostToTable; toHost: TableToHost };
  'process-detail': { toView: HostToDetail; toHost: DetailToHost };
  dashboard: { toView: HostToDashboard; toHost: DashboardToHost };
  report: { toView: HostToReport; toHost: ReportToHost };
  'flame-graph': { toView: HostToFlame; toHost: FlameToHost };
  cluster: { toView: HostToCluster; toHost: ClusterToHost };
}

export type WebviewName = keyof WebviewMessages;

/** Validates the shape of a message from a webview (which is untrusted JSON) enough to dispatch it. */
export function isMessageFromView(x: unknown): x is { type: string } {
  return typeof x === 'object' && x !== null && typeof (x as { type?: unknown }).type === 'string';
}
