// Runtime facts from saved sessions, for lenses without a node: the newest `report` session
// (findings, module summaries, supervisors) merged with the newest `hot` session of the same node.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { formatModule } from '../../etf';
import type { Diagnosis } from '../findings/diagnose';
import type { ReportDocument } from '../report/document';
import { dedupe, factFindings, hotOf, supervisorsOf, type RuntimeFacts } from './runtime-facts';
import type { HotResult } from '../runs/hot';
import { loadSession, sessionsDir, type SessionRecord } from '../records/store';

/** What a `report` session stores: the facts as the editor needs them, and the report itself. */
export interface ReportSessionResult {
  facts: RuntimeFacts;
  /** The report as a typed document (absent in sessions saved before it was stored). */
  report?: ReportDocument;
}

/** Facts from a finished diagnosis (the report command and the extension's report both save these). */
export function factsFromDiagnosis(d: Diagnosis, env: string): RuntimeFacts {
  const s = d.samples;
  const byModule = new Map<string, { processes: number; memory: number; messages: number; largestMailbox: number; largestMailboxPid: string }>();
  for (const p of s.processes) {
    const mfa = p.row.initialCall ?? p.row.currentFunction;
    if (!mfa) continue;
    const module = formatModule(mfa.split(':')[0] as string);
    const m = byModule.get(module) ?? { processes: 0, memory: 0, messages: 0, largestMailbox: 0, largestMailboxPid: p.pid };
    m.processes++;
    m.memory += p.memoryEnd;
    m.messages += p.queueEnd;
    if (p.queueEnd >= m.largestMailbox) {
      m.largestMailbox = p.queueEnd;
      m.largestMailboxPid = p.pid;
    }
    byModule.set(module, m);
  }
  // The node's own counts per module (whole node, one naming rule) when the sampler read them;
  // the sampled processes are only the interesting few.
  const modules = s.modules ?? [...byModule].map(([module, m]) => ({ module, ...m }));
  const supervisors = supervisorsOf(s.treesEnd);
  return {
    node: s.node,
    env,
    source: 'live',
    capturedAt: Date.now(),
    modules,
    supervisors,
    hot: hotOf(s.hot),
    findings: dedupe([...factFindings(s.node, [], supervisors), ...d.findings]),
  };
}

function isFacts(x: unknown): x is RuntimeFacts {
  const f = x as Partial<RuntimeFacts> | null;
  return typeof f === 'object' && f !== null && typeof f.node === 'string' && Array.isArray(f.modules) && Array.isArray(f.supervisors) && Array.isArray(f.findings);
}

/** The newest facts saved under `cwd/.beam-lens/sessions`, marked as saved; null when there are none. */
export function latestSavedFacts(cwd: string): RuntimeFacts | null {
  const dir = sessionsDir(cwd);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return null;
  }
  // Attachment ids start with a UTC timestamp: newest last after sorting.
  names.sort();
  let report: SessionRecord | null = null;
  let hot: SessionRecord | null = null;
  for (const name of names.reverse()) {
    let r: SessionRecord;
    try {
      r = loadSession(path.join(dir, name));
    } catch {
      continue; // a damaged file does not hide the others
    }
    if (report === null && r.kind === 'report' && isFacts((r.result as ReportSessionResult | null)?.facts)) report = r;
    if (hot === null && r.kind === 'hot') hot = r;
    if (report && hot) break;
  }
  const base = report ? (report.result as ReportSessionResult).facts : null;
  const node = base?.node ?? hot?.node;
  if (node === undefined) return null;
  const hotRecord = hot !== null && hot.node === node ? hot : null;
  const capturedAt = Math.max(report ? Date.parse(report.endedAt) : 0, hotRecord ? Date.parse(hotRecord.endedAt) : 0);
  return {
    node,
    env: base?.env ?? hotRecord?.env ?? 'local',
    source: 'saved',
    capturedAt,
    sessionFile: path.join(dir, `${(report ?? hotRecord)?.id ?? ''}.json`),
    modules: base?.modules ?? [],
    supervisors: base?.supervisors ?? [],
    hot: hotRecord ? hotOf(hotRecord.result as HotResult) : (base?.hot ?? []),
    findings: base?.findings ?? [],
  };
}
