// Findings: rules that turn samples into evidence-backed statements with a concrete
// recommendation and a way to validate it. Pure functions over NodeSamples (unit-testable).
// Thresholds are in FINDING_THRESHOLDS (thresholds.ts); the rules the runtime facts also
// compute (restart storms, mailboxes) are shared from there, so every face agrees.
import { hotFunctionFindings } from './run-findings';
import { blockedSenderFindings, memoryGrowthFindings } from './system-findings';
import type { NodeSamples } from './sampler';
import { uniqueIds, type Finding, type Severity } from './finding';
import { bottleneckFindings, mailboxFindings, memoryFindings, reductionFindings } from './process-rules';
import { etsFindings, limitFindings, restartFindings } from './node-rules';
import { connectionChurnFindings } from './churn';

export { FINDING_THRESHOLDS, displayMfa, location } from './thresholds';
export { uniqueIds } from './finding';
export type { Finding, RuleId, Severity, SourceLocation } from './finding';
export { binaryCopy, growth } from './process-rules';

export function computeFindings(s: NodeSamples): Finding[] {
  const findings = [
    ...mailboxFindings(s),
    ...reductionFindings(s),
    ...memoryFindings(s),
    ...restartFindings(s),
    ...etsFindings(s),
    ...limitFindings(s),
    ...bottleneckFindings(s),
    ...memoryGrowthFindings(s),
    ...blockedSenderFindings(s),
    ...connectionChurnFindings(s.connections),
    ...(s.hot ? hotFunctionFindings(s.hot, s) : []),
  ];
  const order: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
  return uniqueIds(findings.sort((a, b) => order[a.severity] - order[b.severity]));
}
