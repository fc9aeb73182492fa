// The one threshold table of the findings rules (thresholds.ts applies it). A leaf with no
// imports, so the webviews can color what they draw by the same numbers (through src/protocol).

/**
 * Every threshold of every rule. Ratios are of a limit (0.6 = 60%); rates per second; sizes in
 * bytes. Change a number here and every face follows.
 */
export const FINDING_THRESHOLDS = {
  /** A supervisor's remembered restarts as a share of its max_restarts. Any restart is a finding. */
  restartStorm: { warningRatio: 0.3, criticalRatio: 0.6 },
  /** A mailbox that grows steadily (sampled window: this share of steps rising). */
  mailboxGrowth: { minPerSec: 10, minQueue: 1000, minSteadiness: 0.7, criticalPerSec: 100, criticalQueue: 100_000 },
  /** A standing queue that is not (or no longer) growing. */
  mailboxBacklog: { minQueue: 10_000, criticalQueue: 100_000 },
  /** One process's share of all reductions, and the least reductions/s that count. */
  reductionHog: { minShare: 0.25, minPerSec: 50_000, warningShare: 0.5 },
  /** Off-heap binaries held by one process: bytes and share of the node's binary memory; warning by share of all memory. */
  binaryHolder: { minBytes: 8 * 1024 * 1024, minShareOfBinary: 0.2, warningShareOfTotal: 0.2 },
  /** One process's memory: bytes or share of the node; warning by share. */
  memoryHog: { minBytes: 50 * 1024 * 1024, minShare: 0.1, warningShare: 0.25 },
  /** One ETS table's memory: bytes or share of the node; warning by share. */
  largeEts: { minBytes: 50 * 1024 * 1024, minShare: 0.1, warningShare: 0.3 },
  /** A system limit's use (processes, ports, atoms, ETS tables). */
  limitPressure: { warningRatio: 0.7, criticalRatio: 0.9 },
  /** Processes blocked calling one process at the same moment (count, or share of all processes). */
  bottleneck: { minWaiters: 5, minShareOfProcesses: 0.05, criticalWaiters: 20 },
  /** A function's share of counted calls (or an absolute rate), top N reported. */
  hotFunction: { minShare: 0.2, minPerSec: 100_000, warningShare: 0.5, top: 5 },
  /** Connections of one owner kind closed during a sampled window (no crash): at least this many, at this rate per minute. */
  connectionChurn: { minClosed: 3, minPerMinute: 6, criticalPerMinute: 120 },
  /** Long GCs of one process during a system monitor session. */
  longGc: { warningCount: 5 },
} as const;
