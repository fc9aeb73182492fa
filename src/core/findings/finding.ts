// What a finding is (one shape for every rule, face and report) and the rule ids; a finding's id
// is stable across runs for its subject and unique within one run (uniqueIds).

export type Severity = 'info' | 'warning' | 'critical';

export type RuleId =
  | 'mailbox-growth'
  | 'mailbox-backlog'
  | 'reduction-hog'
  | 'memory-hog'
  | 'binary-holder'
  | 'restart-storm'
  | 'large-ets'
  | 'limit-pressure'
  | 'hot-function'
  | 'bottleneck'
  | 'long-gc'
  | 'memory-growth'
  | 'blocked-sender'
  | 'connection-churn'
  // Supervision design review (src/core/findings/supervision-review.ts).
  | 'supervision-intensity'
  | 'supervision-strategy'
  | 'supervision-restart-type'
  | 'supervision-dynamic-growth'
  | 'supervision-partition'
  // A forced collection of the top binary holders (src/core/findings/binary-gc.ts).
  | 'binary-gc'
  // Scheduling and GC (src/core/findings/scheduling.ts).
  | 'gc-share'
  | 'busy-wait'
  | 'dirty-saturation'
  | 'gc-heavy'
  // Leak trends over a longer watch (src/core/findings/trends.ts).
  | 'atom-leak'
  | 'process-count-growth'
  | 'port-count-growth'
  | 'memory-growth'
  | 'binary-growth'
  | 'ets-growth'
  // Cluster rules (src/core/cluster/rules.ts).
  | 'cluster-mesh'
  | 'version-drift'
  | 'config-drift'
  | 'node-outlier'
  | 'dist-busy'
  | 'global-conflict';

export interface SourceLocation {
  module: string;
  function?: string;
  arity?: number;
  file?: string;
  line?: number;
}

export interface Finding {
  /** Stable across runs for the same subject (rule + name or module), so sessions can be compared. */
  id: string;
  rule: RuleId;
  severity: Severity;
  title: string;
  evidence: string[];
  subject: { pid?: string; name?: string | null; module?: string | null };
  location?: SourceLocation;
  recommendation: string;
  risk: string;
  validation: string;
}

/** Ids are unique within one run: a repeated id gets the subject's pid (or a counter) appended. */
export function uniqueIds(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.map((f) => {
    if (!seen.has(f.id)) {
      seen.add(f.id);
      return f;
    }
    let id = f.subject.pid ? `${f.id}:${f.subject.pid}` : f.id;
    for (let n = 2; seen.has(id); n++) id = `${f.id}#${n}`;
    seen.add(id);
    return { ...f, id };
  });
}
