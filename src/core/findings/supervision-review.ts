// Supervision design review: from the supervision trees at both ends of a window, the restart
// intensities, the links between siblings and (when gathered) the crash reasons. Findings say
// what would change in the code (`Supervisor.init/2` options, child specs), never apply it.
//  - time to escalation at the observed crash rate, and who gives up next up the tree (added to
//    the supervisor's restart-storm finding);
//  - one_for_all over children that share no links (independent workers restarted together);
//  - an intensity so high it hides a crash loop (restarts allowed per second).
import { walkTree, type ApplicationTree, type TreeNode } from '../inspect/tree';
import type { RemoteEvaluator } from '../target/remote-eval';
import { asList } from '../target/terms';
import { Pid, Tuple, type Term } from '../../etf';
import { pidText } from '../target/pids';
import { displayName, findingId } from './thresholds';
import type { Finding } from './rules';

/** OTP's and Elixir's own applications: their supervision design is not the user's to change. */
const PLATFORM = new Set(['kernel', 'stdlib', 'elixir', 'logger', 'compiler', 'sasl', 'runtime_tools', 'crypto', 'ssl', 'public_key', 'asn1', 'inets', 'mnesia', 'os_mon', 'iex', 'mix', 'hex', 'eex', 'ex_unit', 'tools', 'observer', 'wx', 'ssh', 'xmerl', 'syntax_tools', 'parsetools']);

export const SUPERVISION_THRESHOLDS = {
  /** Restarts allowed per second above which a crash loop can run for a long time unnoticed. */
  hidingIntensityPerSec: 5,
  /** At least this many restarts seen in the period for the loop to count. */
  minRestartsSeen: 1,
} as const;

/** Children's links (pid -> linked pids), for the one_for_all check. */
export type SiblingLinks = Record<string, string[]>;

const LINKS = `[{P, case erlang:process_info(P, links) of {links, L} -> [X || X <- L, is_pid(X)]; _ -> [] end} || P <- Pids].`;

/** Reads the links of the children of every one_for_all supervisor (one call; bounded to 200 pids). */
export async function siblingLinks(evaluator: RemoteEvaluator, node: string, trees: ApplicationTree[]): Promise<SiblingLinks> {
  const pids: string[] = [];
  for (const t of trees) {
    if (!t.supervisor) continue;
    for (const { node: n } of walkTree(t.supervisor)) {
      if (n.type === 'supervisor' && n.strategy === 'one_for_all') for (const c of n.children) if (c.pid) pids.push(c.pid);
    }
  }
  if (pids.length === 0) return {};
  const list = pids.slice(0, 200);
  const reply = await evaluator.eval(`Pids = [erlang:list_to_pid(S) || S <- Texts], ${LINKS}`, { Texts: list.map((p) => [...p].map((c) => c.charCodeAt(0))) }, 15_000);
  const out: SiblingLinks = {};
  for (const t of asList(reply)) {
    if (!(t instanceof Tuple)) continue;
    const [p, links] = t.elements as [Term, Term];
    if (p instanceof Pid) out[pidText(p, node)] = asList(links).filter((x): x is Pid => x instanceof Pid).map((x) => pidText(x, node));
  }
  return out;
}

function label(n: TreeNode): string {
  return n.name ? displayName(n.name) : n.module ? displayName(n.module) : n.pid ?? '?';
}

/** The review's findings over the trees at the end of a window and the one_for_all children's links. */
export function supervisionFindings(trees: ApplicationTree[], links: SiblingLinks): { findings: Finding[]; escalations: Record<string, string> } {
  const out: Finding[] = [];
  /** Supervisor pid -> when and how it escalates, for its restart-storm finding's evidence. */
  const escalations: Record<string, string> = {};
  const T = SUPERVISION_THRESHOLDS;
  for (const t of trees) {
    if (!t.supervisor || PLATFORM.has(t.name)) continue;
    for (const { node: sup, path } of walkTree(t.supervisor)) {
      if (sup.type !== 'supervisor' || sup.intensity === undefined || sup.period === undefined) continue;
      const restarts = sup.restarts ?? 0;
      const allowedPerSec = sup.intensity / Math.max(sup.period, 1);
      const name = label(sup);
      const chain = [...path].reverse().filter((p) => p.type === 'supervisor');
      const next = chain[0];
      const escalation = next
        ? `if it gives up, ${label(next)} (${next.strategy ?? '?'}, ${next.intensity ?? '?'} restarts / ${next.period ?? '?'} s) restarts it${chain.length > 1 ? `; above that ${chain.slice(1).map(label).join(' → ')}` : ''}, and at the top the ${t.name} application stops`
        : `it is the top supervisor of ${t.name}: if it gives up, the application stops`;
      if (restarts >= T.minRestartsSeen && allowedPerSec >= T.hidingIntensityPerSec) {
        out.push({
          id: findingId('supervision-intensity', name),
          rule: 'supervision-intensity',
          severity: 'warning',
          title: `${name} allows ${sup.intensity} restarts in ${sup.period} s: a crash loop there never reaches its limit`,
          evidence: [`${restarts} restarts remembered in its current ${sup.period} s period (${(restarts / sup.period).toFixed(1)}/s)`, `strategy ${sup.strategy ?? '?'}; ${escalation}`],
          subject: { pid: sup.pid ?? undefined, name: sup.name, module: sup.module },
          ...(sup.module ? { location: { module: sup.module, function: 'init', arity: 1 } } : {}),
          recommendation:
            `With ${allowedPerSec.toFixed(0)} restarts a second allowed, a child that crashes on every start loops forever and its supervisor never escalates. ` +
            `Lower the intensity to what a transient fault needs, e.g. \`Supervisor.init(children, strategy: :${sup.strategy ?? 'one_for_one'}, max_restarts: 3, max_seconds: 5)\`, ` +
            'fix the crash the restarts hide, and let a real outage escalate.',
          risk: 'A lower intensity makes the supervisor (and, further up, the application) give up sooner when the fault is real.',
          validation: 'The children stop crashing (the restart count stays at 0 over a window), or the supervisor escalates as designed in a test that injects the fault.',
        });
      }
      if (restarts > 0) {
        const rate = restarts / Math.max(sup.period, 1);
        const left = Math.max(0, sup.intensity + 1 - restarts);
        escalations[sup.pid ?? name] =
          left === 0
            ? `at its limit: one more crash within ${sup.period} s and it gives up; ${escalation}`
            : `at ${rate.toFixed(2)} restarts/s it gives up in about ${Math.max(1, Math.round(left / Math.max(rate, 1e-9)))} s; ${escalation}`;
      }
      // Only where it costs something: a one_for_all supervisor that restarted in its period.
      if (sup.strategy === 'one_for_all' && restarts > 0) {
        const kids = sup.children.filter((c) => c.pid && c.type === 'worker');
        if (kids.length >= 2 && kids.every((c) => links[c.pid as string] !== undefined)) {
          const pids = new Set(kids.map((c) => c.pid as string));
          const linkedToSibling = kids.filter((c) => (links[c.pid as string] ?? []).some((l) => l !== c.pid && pids.has(l)));
          if (linkedToSibling.length === 0) {
            out.push({
              id: findingId('supervision-strategy', name),
              rule: 'supervision-strategy',
              severity: 'warning',
              title: `${name} is one_for_all over ${kids.length} workers that share no links`,
              evidence: [
                `children: ${kids.map(label).join(', ')}; none is linked to a sibling (only to the supervisor)`,
                `${restarts} restarts in the current ${sup.period} s period: every crash of one restarts all ${kids.length}`,
              ],
              subject: { pid: sup.pid ?? undefined, name: sup.name, module: sup.module },
              ...(sup.module ? { location: { module: sup.module, function: 'init', arity: 1 } } : {}),
              recommendation:
                'one_for_all is for children that cannot work without each other. These look independent: a crash of one restarts the others and loses their state for nothing. ' +
                'Use `strategy: :one_for_one` (or `:rest_for_one` if later children depend on earlier ones) in `Supervisor.init/2`.',
              risk: 'If the children do depend on each other in a way links do not show (shared ETS tables, registered names they look up), one_for_one leaves a stale sibling running.',
              validation: 'Kill one child in a test (`Process.exit(pid, :kill)`): only it restarts, and the others keep serving.',
            });
          }
        }
      }
    }
  }
  return { findings: mergeSameSubject(out), escalations };
}

/** Supervisors of the same module (a supervisor per connection, per vhost) make one finding, with their count. */
function mergeSameSubject(findings: Finding[]): Finding[] {
  const byId = new Map<string, { finding: Finding; count: number }>();
  for (const f of findings) {
    const seen = byId.get(f.id);
    if (seen) seen.count++;
    else byId.set(f.id, { finding: f, count: 1 });
  }
  return [...byId.values()].map(({ finding, count }) =>
    count === 1 ? finding : { ...finding, evidence: [...finding.evidence, `the same holds for ${count - 1} more ${count === 2 ? 'supervisor' : 'supervisors'} of this module`] },
  );
}
