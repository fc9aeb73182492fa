// The `investigate` prompt: a BEAM runtime specialist's workflow, written for a model, using
// exactly this server's tools. Phase zero (what runs), an instrumentation plan (each step with its
// cost and whether it needs the user's consent), the runs, optimization guidance, and a handoff.
import { z } from 'zod';
import type { McpContext } from './context';

export const symptoms = ['memory', 'mailbox', 'reductions', 'crashes', 'latency'] as const;
export type Symptom = (typeof symptoms)[number];

interface Step {
  tool: string;
  args: string;
  why: string;
  cost: string;
  consent: boolean;
}

/** The instrumentation plan for a symptom, in order. Exported for tests (the scripted run follows it). */
export function planFor(symptom: Symptom, node: string): Step[] {
  const n = `node: "${node}"`;
  const common: Record<Symptom, Step[]> = {
    memory: [
      { tool: 'processes', args: `{${n}, sort: "memory", limit: 20}`, why: 'who holds the memory', cost: 'one key per process, ~1 s per 100k processes', consent: false },
      { tool: 'ets', args: `{${n}, sort: "memory", limit: 20}`, why: 'large tables and their owners', cost: 'ets:info per table', consent: false },
      { tool: 'findings', args: `{${n}, durationS: 10}`, why: 'refc binaries held by processes, growth over a window', cost: 'read-only sampling for 10 s', consent: false },
      { tool: 'system_monitor', args: `{${n}, durationS: 30}`, why: 'long GCs and large heaps as they happen', cost: 'erlang:system_monitor for 30 s, rate-limited; refused if another tool holds it', consent: true },
    ],
    mailbox: [
      { tool: 'processes', args: `{${n}, sort: "mailbox", limit: 20}`, why: 'the longest queues now', cost: 'one key per process', consent: false },
      { tool: 'mailbox_watch', args: `{${n}, durationS: 10}`, why: 'which queues grow and which drain (growth per second)', cost: 'read-only sampling for 10 s', consent: false },
      { tool: 'process_info', args: `{${n}, pid: "<pid of the growing queue>", messages: 3}`, why: 'what it is doing and what piles up (first messages, truncated)', cost: 'one process_info call', consent: false },
      { tool: 'trace_messages', args: `{${n}, pid: "<pid>", rate: 10, limit: 50, durationS: 10}`, why: 'who sends what to it, at what pace', cost: 'message trace flags on one process, ≤ 10 events/s, removed at the end', consent: true },
    ],
    reductions: [
      { tool: 'processes', args: `{${n}, sort: "reduction_rate", limit: 20}`, why: 'who burns CPU right now (reductions/s over 1 s)', cost: 'two passes 1 s apart', consent: false },
      { tool: 'hot_functions', args: `{${n}, durationS: 5, limit: 20}`, why: 'which of the application\'s functions are called most', cost: 'call_count patterns on the application\'s modules for 5 s (a few % CPU), removed at the end', consent: true },
      { tool: 'trace_calls', args: `{${n}, mfa: "<top hot function>", rate: 10, limit: 50, durationS: 10}`, why: 'who calls it and what it returns', cost: 'a call trace pattern on one function, ≤ 10 events/s, removed at the end', consent: true },
    ],
    crashes: [
      { tool: 'supervision_tree', args: `{${n}}`, why: 'supervisors with restarts in their current window, close to their intensity', cost: 'one which_children call per supervisor', consent: false },
      { tool: 'findings', args: `{${n}, durationS: 10}`, why: 'restart storms (new pids under the same child id) over a window', cost: 'read-only sampling for 10 s', consent: false },
      { tool: 'trace_calls', args: `{${n}, mfa: "<the crashing worker's init/1 or handler>", rate: 10, limit: 50, durationS: 20}`, why: 'the arguments and exceptions around the crash', cost: 'a call trace pattern, ≤ 10 events/s, removed at the end', consent: true },
    ],
    latency: [
      { tool: 'overview', args: `{${n}}`, why: 'scheduler utilization and run queues: is the node saturated', cost: 'scheduler_wall_time for 1 s', consent: false },
      { tool: 'processes', args: `{${n}, sort: "mailbox", limit: 20}`, why: 'a process everyone waits for shows a queue', cost: 'one key per process', consent: false },
      { tool: 'findings', args: `{${n}, durationS: 10}`, why: 'bottlenecks (a busy process with a growing queue), limit pressure', cost: 'read-only sampling for 10 s', consent: false },
      { tool: 'system_monitor', args: `{${n}, durationS: 30}`, why: 'long schedules and long GCs that stall schedulers', cost: 'erlang:system_monitor for 30 s', consent: true },
      { tool: 'trace_calls', args: `{${n}, mfa: "<the slow call>", rate: 10, limit: 50, durationS: 10}`, why: 'return values and timing of the slow path', cost: 'a call trace pattern, removed at the end', consent: true },
    ],
  };
  return common[symptom];
}

const guidance: Record<Symptom, string> = {
  memory: 'Binary leaks: a long-lived process touching large binaries keeps them alive (hibernate, or copy with :binary.copy/1 what you keep). Big ETS tables: add expiry or bound the size. Big heaps: avoid keeping whole state histories; look at fullsweep_after for processes that churn.',
  mailbox: 'A growing queue means arrivals outpace handling: add back-pressure (call instead of cast, or a bounded buffer with load shedding), batch the work, or partition it across processes (PartitionSupervisor). Avoid selective receives on long queues.',
  reductions: 'Cache or precompute results of the hottest pure functions, move work out of a single GenServer (it serializes callers), and measure before/after with hot_functions and compare_sessions.',
  crashes: 'Fix the cause before tuning max_restarts: a restart loop close to the supervisor\'s intensity will eventually take its parent down. Add retries with backoff for flaky upstreams, and check that the child\'s init/1 does not fail on a dependency that is still starting.',
  latency: 'A single process with a queue everyone calls is the usual bottleneck: split it, or serve reads from ETS. Long schedules point at NIFs or long BIF calls; long GCs at processes with huge heaps.',
};

export function investigateText(node: string, symptom: Symptom): string {
  const plan = planFor(symptom, node);
  return [
    `You are a BEAM runtime specialist investigating ${node} for a ${symptom} problem, using the BEAM Lens tools. Read-only tools change nothing; tools marked CONSENT ask the user through a form (or are refused unless the server was started with --allow-probe --allow-trace) and undo what they set when they end. Every result is bounded: follow the paging notes instead of asking for more at once.`,
    '',
    '## Phase zero: what runs here',
    `1. attach {node: "${node}"} if it is not attached yet (list_nodes shows the nodes on a host). Cost: one hidden connection.`,
    `2. overview {node: "${node}"}: OTP version, schedulers, memory by type, counts against limits. Cost: 1 s of scheduler_wall_time.`,
    `3. supervision_tree {node: "${node}"}: the applications, their supervisors, strategies and restarts in the current window. Cost: one call per supervisor.`,
    `4. processes {node: "${node}", sort: "reductions", limit: 10}: the hot processes and the modules they run in (the hot modules).`,
    '',
    '## Instrumentation plan',
    'Run these in order; stop early when the evidence is conclusive. Say the cost before each intrusive step.',
    ...plan.map((s, i) => `${i + 1}. ${s.tool} ${s.args}: ${s.why}. Cost: ${s.cost}.${s.consent ? ' CONSENT: asks the user (limits can only be lowered).' : ' Read-only.'}`),
    `${plan.length + 1}. report {node: "${node}", durationS: 10}: the written diagnosis (findings with evidence, recommended change, risk and validation), saved as a beam-lens://reports resource. Add allowTrace: true for hot functions (CONSENT).`,
    '',
    '## The runs',
    'Only one tracing session runs per node at a time: wait for one to end before starting the next. If the user declines a consent form, continue with the read-only evidence and say what could not be measured.',
    '',
    '## Optimization guidance',
    guidance[symptom],
    'Propose changes as code in the application (module and function named by the evidence), never as changes made on the running node.',
    '',
    '## Handoff',
    'End with three sections:',
    '- **Summary**: what is wrong, in two or three sentences, naming the processes, modules and supervisors involved.',
    '- **Evidence**: the numbers that show it (from the tool results: queue growth per second, calls/s, restarts in window, bytes), each with the tool that measured it and the saved session id when there is one.',
    '- **Follow-up tasks**: concrete changes (file/module, what to change), each with how to validate it (which tool to run again, and compare_sessions {a, b} for before/after).',
  ].join('\n');
}

export function registerInvestigatePrompt(ctx: McpContext): void {
  ctx.server.registerPrompt(
    'investigate',
    {
      title: 'Investigate a node',
      description: "A runtime specialist's workflow for one symptom: phase zero, an instrumentation plan with the cost and consent of each step, the runs, optimization guidance and a handoff (summary, evidence, follow-up tasks).",
      argsSchema: {
        node: z.string().min(1).max(255).describe('node name, name@host'),
        symptom: z.enum(symptoms).describe('memory | mailbox | reductions | crashes | latency'),
      },
    },
    ({ node, symptom }) => ({
      description: `Investigate ${symptom} on ${node}`,
      messages: [{ role: 'user', content: { type: 'text', text: investigateText(node, symptom) } }],
    }),
  );
}
