// Read-only inspection tools: they ask the node questions and change nothing on it.
import { z } from 'zod';
import { listNodes } from '../../core/attach';
import { formatModule } from '../../etf';
import { filteredProcesses } from '../../core/inspect/process-filter';
import type { ProcessPage, ProcessRow, ProcessSort } from '../../core/inspect/processes';
import type { ApplicationTree, TreeNode } from '../../core/inspect/tree';
import { STRUCTURED_BUDGET, fitItems, toolResult, truncationNote } from '../bounds';
import { guarded, progressFor, type McpContext } from '../context';
import { BeamLensError } from '../../errors';
import { nodeArg, readOnly } from './common';

const MiB = 1024 * 1024;
const fmtBytes = (n: number): string => (n >= MiB ? `${(n / MiB).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const mod = (t: string | null): string => (t ? formatModule(t) : '');

const processRowSchema = z.looseObject({
  pid: z.string(),
  name: z.string().nullable(),
  memory: z.number(),
  reductions: z.number(),
  messageQueueLen: z.number(),
  currentFunction: z.string().nullable(),
  initialCall: z.string().nullable(),
  reductionRate: z.number().optional(),
});

const truncationSchema = z.object({ shown: z.number(), total: z.number(), next: z.string() }).optional();

export function registerInspectionTools(ctx: McpContext): void {
  const { server, nodes } = ctx;

  server.registerTool(
    'list_nodes',
    {
      title: 'List Erlang nodes',
      description:
        'Lists the Erlang/Elixir nodes registered in EPMD on a host (default localhost) and the nodes this server is attached to. Costs nothing on any node (one EPMD query). Use a name from here with `attach`.',
      inputSchema: { host: z.string().min(1).max(255).optional().describe('host whose EPMD to ask (default localhost)') },
      outputSchema: {
        host: z.string(),
        registered: z.array(z.object({ name: z.string(), port: z.number() })),
        attached: z.array(z.object({ node: z.string(), env: z.string(), probe: z.string() })),
      },
      annotations: readOnly('List Erlang nodes'),
    },
    ({ host }) =>
      guarded(async () => {
        const h = host ?? 'localhost';
        const registered = await listNodes(h, { timeoutMs: 3000 });
        const attached = nodes.list().map((s) => ({ node: s.node, env: s.env, probe: s.probe.state }));
        const lines = [
          `EPMD on ${h}: ${registered.length === 0 ? 'no nodes' : registered.map((n) => `${n.name} (port ${n.port})`).join(', ')}`,
          `attached: ${attached.length === 0 ? 'none (call attach {node: "name@host"})' : attached.map((a) => `${a.node} [${a.env}]`).join(', ')}`,
        ];
        return toolResult({ host: h, registered: registered.slice(0, 200), attached }, lines.join('\n'));
      }),
  );

  server.registerTool(
    'overview',
    {
      title: 'Node overview',
      description:
        'The node at a glance: OTP/ERTS versions, uptime, schedulers and their utilization over 1 s, run queues, memory by type, process/port/atom/ETS counts against their limits, IO and GC totals. Cost: a few cheap calls plus scheduler_wall_time switched on for 1 s (switched back in the same call). Small result.',
      inputSchema: { ...nodeArg },
      outputSchema: { overview: z.looseObject({ node: z.string(), otpRelease: z.string() }) },
      annotations: readOnly('Node overview'),
    },
    ({ node }) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const o = await s.overview();
        const util = o.schedulerUtilization ? `${Math.round(o.schedulerUtilization.total * 100)}%` : 'n/a';
        const text = [
          `${o.node} [${s.env}] OTP ${o.otpRelease} (ERTS ${o.ertsVersion}), up ${Math.round(o.uptimeMs / 1000)} s`,
          `schedulers ${o.schedulers.online}/${o.schedulers.total} online, utilization ${util}, run queue ${o.runQueue.total}`,
          `memory total ${fmtBytes(o.memory.total)}: processes ${fmtBytes(o.memory.processes)}, binary ${fmtBytes(o.memory.binary)}, ets ${fmtBytes(o.memory.ets)}, code ${fmtBytes(o.memory.code)}, atom ${fmtBytes(o.memory.atom)}`,
          `processes ${o.limits.processes.count}/${o.limits.processes.limit ?? '?'}, ports ${o.limits.ports.count}/${o.limits.ports.limit ?? '?'}, atoms ${o.limits.atoms.count}/${o.limits.atoms.limit ?? '?'}, ets ${o.limits.etsTables.count}`,
        ].join('\n');
        return toolResult({ overview: { ...o } }, text);
      }),
  );

  server.registerTool(
    'processes',
    {
      title: 'Top processes',
      description:
        'One page of the node\'s processes sorted on the target by memory, reductions, mailbox (message queue length) or reduction_rate (reductions/s over 1 s). Only the sort key of every process is read; full rows only for the page. Cost grows with the process count (about 1 s per 100,000 processes without the probe; faster with it). At most 100 rows per call: page with offset. `filter` keeps processes whose registered name, pid, initial call or current function contains the text (case-insensitive).',
      inputSchema: {
        ...nodeArg,
        sort: z.enum(['memory', 'reductions', 'mailbox', 'reduction_rate']).default('memory').describe('sort key, largest first'),
        limit: z.number().int().min(1).max(100, 'limit is at most 100 rows per call; page with offset').default(20).describe('rows (1-100, default 20)'),
        offset: z.number().int().min(0).default(0).describe('rows to skip, for the next page'),
        filter: z.string().min(1).max(200).optional().describe('only processes whose name, pid, initial call or current function contains this'),
      },
      outputSchema: {
        total: z.number(),
        sort: z.string(),
        offset: z.number(),
        via: z.string(),
        rows: z.array(processRowSchema),
        truncated: truncationSchema,
      },
      annotations: readOnly('Top processes'),
    },
    ({ node, sort, limit, offset, filter }, extra) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const coreSort: ProcessSort = sort === 'reduction_rate' ? 'reduction-rate' : sort;
        const progress = progressFor(extra);
        const query = { sort: coreSort, limit, offset, signal: extra.signal, onProgress: (done: number, total: number) => progress(done, total, 'reading processes') };
        const page: ProcessPage = filter !== undefined ? await filteredProcesses(s, query, filter) : await s.processes(query);
        const fitted = fitItems(page.rows, (rows) => ({ total: page.total, sort, offset: page.offset, via: page.via, rows }), STRUCTURED_BUDGET);
        const last = page.offset + fitted.shown;
        const truncated = last < page.total ? { shown: fitted.shown, total: page.total - page.offset, next: `call processes with offset: ${last} for the next page` } : undefined;
        const header = `${page.offset + 1}-${last} of ${page.total} processes${filter ? ` matching "${filter}"` : ''} by ${sort} (${page.via === 'probe' ? 'sorted by the probe' : 'zero-install'})`;
        const lines = fitted.value.rows.map(
          (r: ProcessRow) =>
            `${r.pid} ${mod(r.name) || mod(r.initialCall)}  mem ${fmtBytes(r.memory)}  reds ${r.reductionRate !== undefined ? `${r.reductionRate}/s` : r.reductions}  mq ${r.messageQueueLen}  in ${mod(r.currentFunction)}`,
        );
        return toolResult({ ...fitted.value, ...(truncated ? { truncated } : {}) }, [header, ...lines].join('\n') + truncationNote(truncated));
      }),
  );

  server.registerTool(
    'process_info',
    {
      title: 'One process',
      description:
        "One process in depth: status, memory, heap and stack sizes, reductions, queue length, links, monitors, ancestors (its place in the supervision tree), current stacktrace and the KEYS of its process dictionary. Never returns its state or dictionary values (secrets live there). `messages` (0-5) adds the first queued messages, printed and truncated, only from queues of at most 10,000. Cheap: one process_info call.",
      inputSchema: {
        ...nodeArg,
        pid: z.string().min(1).max(64).describe('pid as the node prints it, e.g. <0.123.0>'),
        messages: z.number().int().min(0).max(5, 'messages is at most 5').default(0).describe('first N queued messages to show (0-5)'),
      },
      outputSchema: { process: z.looseObject({ pid: z.string(), alive: z.boolean() }) },
      annotations: readOnly('One process'),
    },
    ({ node, pid, messages }) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const d = await s.processDetail(pid, messages > 0 ? { messages } : {});
        if (!d.alive) throw new BeamLensError('notFound', `${d.pid} is not alive on ${s.node} (it may have exited or restarted): find current pids with \`processes\` or \`supervision_tree\``);
        const text = [
          `${d.pid}${d.name ? ` (${mod(d.name)})` : ''} ${d.status ?? ''}`,
          `initial call ${mod(d.initialCall) || '-'}, current ${mod(d.currentFunction) || '-'}`,
          `memory ${fmtBytes(d.memory)}, reductions ${d.reductions}, message queue ${d.messageQueueLen}`,
          `ancestors ${d.ancestors.join(' < ') || '-'}; links ${d.links.length}; monitors ${d.monitors.length}`,
          `dictionary keys: ${d.dictionaryKeys.join(', ') || '-'}`,
          'stack:',
          ...d.currentStacktrace.slice(0, 20).map((f) => `  ${f}`),
          ...(d.messages ? [`messages (${d.messages.shown.length} of ${d.messages.total}):`, ...d.messages.shown.map((m) => `  ${m}`), ...(d.messages.note ? [`  (${d.messages.note})`] : [])] : []),
        ].join('\n');
        const process = { ...d, links: d.links.slice(0, 200), monitors: d.monitors.slice(0, 200), monitoredBy: d.monitoredBy.slice(0, 200), currentStacktrace: d.currentStacktrace.slice(0, 50) };
        return toolResult({ process }, text);
      }),
  );

  server.registerTool(
    'supervision_tree',
    {
      title: 'Supervision tree',
      description:
        "Applications and their supervision trees: each supervisor's strategy, max restarts (intensity/period), restarts in its current window, children and their pids. A supervisor with more than pageSize children lists one page of them (largest memory first) and its childCount; page it with {supervisor: pid, offset}. Cost: one which_children call per supervisor. The result is cut to fit (depth first, then children per supervisor) and says so.",
      inputSchema: {
        ...nodeArg,
        app: z.string().min(1).max(255).optional().describe('only this application (e.g. demo)'),
        depth: z.number().int().min(1).max(32).default(8).describe('levels below each application supervisor (default 8)'),
        pageSize: z.number().int().min(1).max(100, 'pageSize is at most 100 children per supervisor').default(25).describe('children listed per supervisor (default 25)'),
        supervisor: z.string().min(1).max(64).optional().describe('page the children of this supervisor pid instead of walking the tree'),
        offset: z.number().int().min(0).default(0).describe('with supervisor: children to skip'),
      },
      outputSchema: {
        applications: z.array(z.looseObject({ name: z.string() })).optional(),
        supervisor: z.looseObject({ childCount: z.number() }).optional(),
        truncated: truncationSchema,
      },
      annotations: readOnly('Supervision tree'),
    },
    ({ node, app, depth, pageSize, supervisor, offset }) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        if (supervisor !== undefined) {
          const page = await s.supervisorPage(supervisor, offset, pageSize);
          const fitted = fitItems(page.children, (children) => ({ supervisor: { ...compact(page, 0, 0), children: children.map((c) => compact(c, 0, 0)) } }), STRUCTURED_BUDGET);
          const last = offset + fitted.shown;
          const truncated = last < page.childCount ? { shown: fitted.shown, total: page.childCount - offset, next: `call supervision_tree with {supervisor: "${supervisor}", offset: ${last}}` } : undefined;
          const text = [`${supervisor} ${mod(page.module)}: ${page.childCount} children, ${offset + 1}-${last} shown`, ...fitted.value.supervisor.children.map((c) => `  ${line(c)}`)].join('\n');
          return toolResult({ ...fitted.value, ...(truncated ? { truncated } : {}) }, text + truncationNote(truncated));
        }
        const apps = await s.tree({ ...(app ? { app } : {}), maxDepth: depth, pageSize });
        const { value, cut } = fitTree(apps, depth, pageSize);
        const text = value.map((a) => renderApp(a)).join('\n');
        const truncated = cut ? { shown: 0, total: 0, next: `${cut}; ask for one application with {app}, a smaller depth, or page a large supervisor with {supervisor: pid, offset}` } : undefined;
        return toolResult({ applications: value, ...(truncated ? { truncated } : {}) }, text + (cut ? `\n(${truncated?.next})` : ''));
      }),
  );

  server.registerTool(
    'ports',
    {
      title: 'Open ports',
      description: 'Open ports (sockets, files, drivers) sorted by bytes moved, with owner and addresses. Cheap: one pass over erlang:ports() on the target. At most 100 rows.',
      inputSchema: { ...nodeArg, limit: z.number().int().min(1).max(100, 'limit is at most 100 rows').default(20).describe('rows (1-100, default 20)') },
      outputSchema: { total: z.number(), rows: z.array(z.looseObject({ port: z.string() })), truncated: truncationSchema },
      annotations: readOnly('Open ports'),
    },
    ({ node, limit }) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const r = await s.ports(limit);
        const fitted = fitItems(r.rows, (rows) => ({ total: r.total, rows }), STRUCTURED_BUDGET);
        const truncated = fitted.shown < r.total ? { shown: fitted.shown, total: r.total, next: 'only the top ports by traffic are listed' } : undefined;
        const text = [`${r.total} ports, top ${fitted.shown}:`, ...fitted.value.rows.map((p) => `${p.port} ${p.name} owner ${p.ownerName ?? p.owner ?? '-'} in ${p.input} out ${p.output}${p.peer ? ` peer ${p.peer}` : ''}`)].join('\n');
        return toolResult({ ...fitted.value, ...(truncated ? { truncated } : {}) }, text);
      }),
  );

  server.registerTool(
    'ets',
    {
      title: 'ETS tables',
      description: 'ETS tables sorted by memory (bytes) or size (rows), with owner, type and protection. Never reads table contents. Cheap: ets:info per table. At most 100 rows.',
      inputSchema: {
        ...nodeArg,
        limit: z.number().int().min(1).max(100, 'limit is at most 100 rows').default(20).describe('rows (1-100, default 20)'),
        sort: z.enum(['memory', 'size']).default('memory').describe('memory (bytes) or size (rows)'),
      },
      outputSchema: { total: z.number(), rows: z.array(z.looseObject({ name: z.string() })), truncated: truncationSchema },
      annotations: readOnly('ETS tables'),
    },
    ({ node, limit, sort }) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const r = await s.ets(limit, sort);
        const fitted = fitItems(r.rows, (rows) => ({ total: r.total, rows }), STRUCTURED_BUDGET);
        const truncated = fitted.shown < r.total ? { shown: fitted.shown, total: r.total, next: 'only the largest tables are listed' } : undefined;
        const text = [`${r.total} ETS tables, top ${fitted.shown} by ${sort}:`, ...fitted.value.rows.map((t) => `${t.name} ${t.type} ${t.protection} rows ${t.size} ${fmtBytes(t.memoryBytes)} owner ${t.ownerName ?? t.owner ?? '-'}`)].join('\n');
        return toolResult({ ...fitted.value, ...(truncated ? { truncated } : {}) }, text);
      }),
  );
}

interface CompactNode {
  pid: string | null;
  name: string | null;
  module: string | null;
  type: string;
  strategy?: string;
  intensity?: number;
  period?: number;
  restarts?: number;
  childCount: number;
  status?: string;
  error?: string;
  children?: CompactNode[];
  /** Children not listed here (paged by the walk, or cut to fit). */
  childrenOmitted?: number;
}

function compact(n: TreeNode, depthLeft: number, perNode: number): CompactNode {
  const children = depthLeft > 0 ? n.children.slice(0, perNode).map((c) => compact(c, depthLeft - 1, perNode)) : [];
  const omitted = n.childCount - children.length;
  return {
    pid: n.pid,
    name: n.name,
    module: n.module,
    type: n.type,
    ...(n.strategy !== undefined ? { strategy: n.strategy } : {}),
    ...(n.intensity !== undefined ? { intensity: n.intensity, period: n.period } : {}),
    ...(n.restarts !== undefined ? { restarts: n.restarts } : {}),
    childCount: n.childCount,
    ...(n.status ? { status: n.status } : {}),
    ...(n.error ? { error: n.error } : {}),
    ...(children.length > 0 ? { children } : {}),
    ...(omitted > 0 && n.type === 'supervisor' ? { childrenOmitted: omitted } : {}),
  };
}

interface CompactApp {
  name: string;
  version: string;
  supervisor: CompactNode | null;
}

/** The tree cut until it fits: fewer children per supervisor first, then less depth. */
function fitTree(apps: ApplicationTree[], depth: number, pageSize: number): { value: CompactApp[]; cut: string | null } {
  const build = (d: number, p: number): CompactApp[] => apps.map((a) => ({ name: a.name, version: a.version, supervisor: a.supervisor ? compact(a.supervisor, d, p) : null }));
  const fits = (v: CompactApp[]): boolean => Buffer.byteLength(JSON.stringify(v)) <= STRUCTURED_BUDGET;
  let value = build(depth, pageSize);
  if (fits(value)) return { value, cut: null };
  for (let d = depth; d >= 0; d--) {
    for (let p = pageSize; p >= 1; p = p > 10 ? Math.floor(p / 2) : p - 1) {
      value = build(d, p);
      if (fits(value)) return { value, cut: `cut to depth ${d} and ${p} children per supervisor to fit 32 KB` };
    }
  }
  const names = apps.map((a) => a.name);
  return { value: fitItems(names, (ns) => ns.map((name) => ({ name, version: '', supervisor: null })), STRUCTURED_BUDGET).value, cut: `only application names fit (${names.length} applications)` };
}

function line(n: CompactNode): string {
  const who = n.name ? mod(n.name) : mod(n.module);
  const sup = n.type === 'supervisor' ? ` ${n.strategy ?? ''} ${n.intensity ?? '?'}/${n.period ?? '?'}s restarts ${n.restarts ?? 0}, ${n.childCount} children` : '';
  return `${n.pid ?? n.status ?? '-'} ${who}${sup}${n.error ? ` (${n.error})` : ''}`;
}

function renderApp(a: CompactApp): string {
  const out = [`${a.name} ${a.version}`];
  const walk = (n: CompactNode, indent: string): void => {
    out.push(`${indent}${line(n)}`);
    for (const c of n.children ?? []) walk(c, indent + '  ');
    if (n.childrenOmitted) out.push(`${indent}  … ${n.childrenOmitted} more children`);
  };
  if (a.supervisor) walk(a.supervisor, '  ');
  return out.join('\n');
}
