// Code lenses, diagnostics and hovers: pure functions over the workspace index and the runtime
// facts held in memory. Nothing here talks to a node, so a lens request costs a few map lookups.
import { pathToFileURL } from 'node:url';
import { formatModule } from '../etf';
import type { Finding } from '../core/findings/rules';
import { DIAGNOSTIC_SOURCE, type LensCommand, type ModuleRuntime, type RuntimeFacts, type SupervisorRuntime } from '../protocol/lsp';
import type { ModuleDef, Range } from './index/extract';
import type { WorkspaceIndex } from './index/workspace';

export interface Lens {
  range: Range;
  title: string;
  command: LensCommand;
}

export type Severity = 'warning' | 'information';

export interface BeamDiagnostic {
  range: Range;
  severity: Severity;
  message: string;
  code: string;
  source: typeof DIAGNOSTIC_SOURCE;
  /** The finding behind it: node, id and its own severity (LSP has no 'critical'; critical shows as a warning). */
  data: { node: string; findingId: string; severity: Finding['severity'] };
}

export function formatNumber(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatRate(perSec: number): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(1)}M/s`;
  if (perSec >= 1e4) return `${Math.round(perSec / 1e3)}k/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)}k/s`;
  return `${Math.round(perSec)}/s`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 36) return `${h} h`;
  return `${Math.round(h / 24)} d`;
}

const BEHAVIOUR_SUPERVISORS = new Set(['Supervisor', 'DynamicSupervisor', 'PartitionSupervisor', 'Task.Supervisor']);

export function isSupervisorModule(m: ModuleDef): boolean {
  return m.uses.some((u) => BEHAVIOUR_SUPERVISORS.has(u)) || m.supervisors.some((s) => s.call.endsWith('.init'));
}

/** Runtime supervisors that run this module: by callback module, or by the name it registers. */
export function supervisorsForModule(m: ModuleDef, facts: RuntimeFacts): SupervisorRuntime[] {
  if (!isSupervisorModule(m)) return [];
  return facts.supervisors.filter((s) => s.module === m.name || (s.name !== null && (s.name === m.name || m.registeredNames.includes(s.name))));
}

function supervisorLensTitle(s: SupervisorRuntime, sourceLimits?: { maxRestarts?: number; maxSeconds?: number }): string {
  const parts = [s.strategy ?? 'supervisor', `${formatNumber(s.childCount)} ${s.childCount === 1 ? 'child' : 'children'}`];
  if (s.intensity !== undefined && s.period !== undefined) {
    parts.push(`${s.restarts ?? 0} restarts/${s.period} s of ${s.intensity} allowed`);
    const src = sourceLimits;
    if (src?.maxRestarts !== undefined && src.maxSeconds !== undefined && (src.maxRestarts !== s.intensity || src.maxSeconds !== s.period)) {
      parts.push(`source says ${src.maxRestarts}/${src.maxSeconds} s (not deployed?)`);
    }
  }
  return parts.join(' · ');
}

function moduleLensTitle(r: ModuleRuntime): string {
  const parts = [`${formatNumber(r.processes)} ${r.processes === 1 ? 'process' : 'processes'}`];
  if (r.largestMailbox > 0 || Math.abs(r.mailboxGrowthPerSec ?? 0) >= 1) {
    const growth = r.mailboxGrowthPerSec;
    const trend = growth !== undefined && Math.abs(growth) >= 1 ? ` (${growth > 0 ? '+' : '−'}${formatRate(Math.abs(growth))})` : '';
    parts.push(`largest mailbox ${formatNumber(r.largestMailbox)}${trend}`);
  }
  parts.push(formatBytes(r.memory));
  return parts.join(' · ');
}

function stalePrefix(facts: RuntimeFacts, now: number): string {
  return facts.source === 'saved' ? `saved session, ${formatAge(now - facts.capturedAt)} old · ` : '';
}

export function codeLenses(uri: string, index: WorkspaceIndex, allFacts: Iterable<RuntimeFacts>, now = Date.now()): Lens[] {
  const file = index.file(uri);
  if (!file) return [];
  const lenses: Lens[] = [];
  for (const facts of allFacts) {
    const prefix = stalePrefix(facts, now);
    const node = facts.node;
    const modules = new Map(facts.modules.map((m) => [m.module, m]));
    const hotByModule = new Map<string, RuntimeFacts['hot']>();
    for (const h of facts.hot) {
      const list = hotByModule.get(h.module) ?? [];
      list.push(h);
      hotByModule.set(h.module, list);
    }
    for (const m of file.modules) {
      const line = { start: m.range.start, end: m.range.start };
      // Supervisors defined by this module (module-based) ...
      const sups = supervisorsForModule(m, facts);
      const initSpec = m.supervisors.find((s) => s.call.endsWith('.init'));
      for (const s of sups.slice(0, 3)) {
        lenses.push({
          range: line,
          title: prefix + supervisorLensTitle(s, initSpec) + (sups.length > 3 ? ` (+${sups.length - 3} more running)` : ''),
          command: { command: 'beamLens.showSupervisionTree', arguments: [{ node, pid: s.pid, ...(s.name ? { name: s.name } : {}), module: m.name }] },
        });
      }
      // ... and inline ones: Supervisor.start_link(children, name: X) in an Application.
      for (const spec of m.supervisors) {
        if (spec.name === undefined || spec.call.endsWith('.init')) continue;
        const s = facts.supervisors.find((r) => r.name === spec.name);
        if (!s) continue;
        lenses.push({
          range: { start: spec.range.start, end: spec.range.start },
          title: prefix + supervisorLensTitle(s, spec),
          command: { command: 'beamLens.showSupervisionTree', arguments: [{ node, pid: s.pid, name: spec.name }] },
        });
      }
      const runtime = modules.get(m.name) ?? (file.modules.length === 1 ? facts.modules.find((r) => r.sourceHint !== undefined && pathToFileURL(r.sourceHint).toString() === uri && !index.module(r.module)) : undefined);
      if (runtime) {
        lenses.push({ range: line, title: prefix + moduleLensTitle(runtime), command: { command: 'beamLens.showProcesses', arguments: [{ node, module: m.name }] } });
      }
      for (const h of hotByModule.get(m.name) ?? []) {
        const fn = m.functions.find((f) => f.name === h.function && h.arity <= f.arity && h.arity >= f.minArity);
        const clause = fn?.clauses[0];
        if (!clause) continue;
        const cost = h.usPerCall !== undefined ? ` · ${h.usPerCall.toFixed(1)} µs/call` : '';
        lenses.push({
          range: { start: clause.range.start, end: clause.range.start },
          title: `${prefix}${Math.round(h.share * 100)}% of calls · ${formatRate(h.callsPerSec)}${cost}`,
          command: { command: 'beamLens.showHotFunctions', arguments: [{ node, module: m.name, function: h.function, arity: h.arity }] },
        });
      }
    }
  }
  return lenses;
}

const MAILBOX_RULES = new Set(['mailbox-growth', 'mailbox-backlog', 'bottleneck']);
const FUNCTION_RULES = new Set(['hot-function', 'reduction-hog']);

/** The module a finding is about, in display form. */
export function findingModule(f: Finding): string | null {
  const m = f.location?.module ?? f.subject.module ?? null;
  return m === null ? null : formatModule(m.split(':')[0] as string);
}

/** Where in the index a finding belongs: file and ranges. */
export function placeFinding(f: Finding, index: WorkspaceIndex, hints?: ReadonlyMap<string, string>): { uri: string; ranges: Range[] } | null {
  let moduleName = findingModule(f);
  let entry = moduleName !== null ? (index.module(moduleName) ?? byHint(index, moduleName, hints)) : undefined;
  // A process known by its registered name (e.g. a supervisor started inline, or a named GenServer).
  if (!entry && f.subject.name) {
    const name = formatModule(f.subject.name);
    const inline = index.supervisorNamed(name);
    if (inline && f.rule === 'restart-storm') return { uri: inline.uri, ranges: [inline.spec.range] };
    entry = index.moduleRegisteredAs(name) ?? index.module(name);
    moduleName = entry?.module.name ?? moduleName;
  }
  if (!entry) return null;
  const m = entry.module;
  const fnRanges = (name: string, arity?: number): Range[] =>
    m.functions.filter((fn) => fn.name === name && (arity === undefined || (arity <= fn.arity && arity >= fn.minArity))).flatMap((fn) => fn.clauses.map((c) => c.nameRange));
  let ranges: Range[] = [];
  if (MAILBOX_RULES.has(f.rule)) ranges = [...fnRanges('handle_cast'), ...fnRanges('handle_info')];
  else if (FUNCTION_RULES.has(f.rule) && f.location?.function) ranges = fnRanges(f.location.function, f.location.arity).slice(0, 1);
  else if (f.rule === 'restart-storm') {
    const init = m.supervisors.find((s) => s.call.endsWith('.init'));
    ranges = fnRanges('init', 1).slice(0, 1);
    if (ranges.length === 0 && init) ranges = [init.range];
  } else if (f.location?.function) ranges = fnRanges(f.location.function, f.location.arity).slice(0, 1);
  if (ranges.length === 0) ranges = [m.nameRange];
  return { uri: entry.uri, ranges };
}

/**
 * A module the index does not know by name (defined by a macro, say), found through the
 * target's module_info(compile) source path when that file is in the workspace.
 */
export function byHint(index: WorkspaceIndex, module: string, hints: ReadonlyMap<string, string> | undefined): { uri: string; module: ModuleDef } | undefined {
  const source = hints?.get(module);
  if (!source) return undefined;
  const uri = pathToFileURL(source).toString();
  const file = index.file(uri);
  const m = file?.modules.find((x) => x.name === module) ?? file?.modules[0];
  return m ? { uri, module: m } : undefined;
}

export function sourceHints(facts: RuntimeFacts): Map<string, string> {
  return new Map(facts.modules.filter((m) => m.sourceHint).map((m) => [m.module, m.sourceHint as string]));
}

/** Diagnostics per file uri for all findings of all attached nodes. */
export function diagnosticsByUri(index: WorkspaceIndex, allFacts: Iterable<RuntimeFacts>): Map<string, BeamDiagnostic[]> {
  const out = new Map<string, BeamDiagnostic[]>();
  for (const facts of allFacts) {
    const hints = sourceHints(facts);
    for (const f of facts.findings) {
      const place = placeFinding(f, index, hints);
      if (!place) continue;
      const list = out.get(place.uri) ?? [];
      const saved = facts.source === 'saved' ? ' (saved session)' : '';
      for (const range of place.ranges) {
        list.push({
          range,
          severity: f.severity === 'info' ? 'information' : 'warning',
          message: `${f.title}${saved} [${facts.node}]`,
          code: f.rule,
          source: DIAGNOSTIC_SOURCE,
          data: { node: facts.node, findingId: f.id, severity: f.severity },
        });
      }
      out.set(place.uri, list);
    }
  }
  return out;
}

function contains(r: Range, line: number, character: number): boolean {
  if (line < r.start.line || line > r.end.line) return false;
  if (line === r.start.line && character < r.start.character) return false;
  if (line === r.end.line && character > r.end.character) return false;
  return true;
}

/** Escapes Markdown: node data (names, atoms, printed terms) comes from strangers. */
export function mdText(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`);
}

export function findingMarkdown(f: Finding, facts: RuntimeFacts, now = Date.now()): string {
  const age = facts.source === 'saved' ? ` — saved session, ${formatAge(now - facts.capturedAt)} old` : '';
  return [
    `**BEAM Lens** · ${mdText(facts.node)}${age}`,
    '',
    `**${mdText(f.title)}** (${f.severity}, ${f.rule})`,
    '',
    ...f.evidence.map((e) => `- ${mdText(e)}`),
    '',
    `**Recommendation:** ${mdText(f.recommendation)}`,
    '',
    `**Risk:** ${mdText(f.risk)}`,
    '',
    `**Validate:** ${mdText(f.validation)}`,
  ].join('\n');
}

/** Hover: the findings whose diagnostics cover the position, or the module's runtime summary on its name. */
export function hover(uri: string, line: number, character: number, index: WorkspaceIndex, allFacts: RuntimeFacts[], now = Date.now()): string | null {
  const parts: string[] = [];
  for (const facts of allFacts) {
    const hints = sourceHints(facts);
    for (const f of facts.findings) {
      const place = placeFinding(f, index, hints);
      if (place?.uri === uri && place.ranges.some((r) => contains(r, line, character))) parts.push(findingMarkdown(f, facts, now));
    }
    const file = index.file(uri);
    for (const m of file?.modules ?? []) {
      if (!contains(m.nameRange, line, character)) continue;
      const r = facts.modules.find((x) => x.module === m.name);
      const sups = supervisorsForModule(m, facts);
      if (!r && sups.length === 0) continue;
      const lines = [`**BEAM Lens** · ${mdText(facts.node)}${facts.source === 'saved' ? ` (saved session, ${formatAge(now - facts.capturedAt)} old)` : ''}`, ''];
      if (r) {
        lines.push(`- ${mdText(moduleLensTitle(r))}`);
        if (r.largestMailboxPid) lines.push(`- largest mailbox in ${mdText(r.largestMailboxPid)}`);
      }
      for (const s of sups) lines.push(`- supervisor ${mdText(s.name ?? s.pid)}: ${mdText(supervisorLensTitle(s))}`);
      parts.push(lines.join('\n'));
    }
  }
  return parts.length > 0 ? parts.join('\n\n---\n\n') : null;
}
