import { formatModule } from '../../etf';
import type { TreeNode } from '../../core/inspect/tree';
import { booleanFlag, countFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { printJson } from '../output';
import { probeFlags, withAttachment } from '../attachment';
import { clusterFlags, withCluster } from './cluster';
import { processTitle } from '../../core/inspect/identity';

export const treeCommand: Command = {
  spec: {
    name: 'tree',
    summary: 'Running applications and their supervision trees (strategy, restart intensity, restarts, children).',
    usage: 'beam-lens tree --node NAME [--app APP] [--page N] [--cluster [--via entry|direct]] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
      ...clusterFlags,
      cluster: { type: 'boolean', description: 'the trees of every member of the cluster of --node, one section per node' },
      app: { type: 'string', value: 'APP', description: 'only this application' },
      page: { type: 'number', value: 'N', description: 'children listed per supervisor before paging (default 100)', default: 100 },
    },
  },
  async run({ args, output, signal }) {
    const app = stringFlag(args.flags, 'app');
    const pageSize = countFlag(args.flags, 'page', 100, { max: 10_000 });
    const options = { ...(app !== undefined ? { app } : {}), pageSize };
    if (booleanFlag(args.flags, 'cluster')) {
      const answers = await withAttachment(args.flags, output, signal, (s) => withCluster(s, args.flags, (view) => view.ask((m) => m.tree(options), 30_000)));
      if (booleanFlag(args.flags, 'json')) {
        printJson(output, {
          nodes: answers.map((a) => ({
            node: a.node,
            status: a.status,
            ...(a.error ? { error: a.error } : {}),
            ...(a.value ? { applications: a.value.map((x) => ({ name: x.name, description: x.description, version: x.version, supervisor: x.supervisor })) } : {}),
          })),
        });
        return ExitCode.ok;
      }
      const lines: string[] = [];
      for (const a of answers) {
        lines.push(`== ${a.node}${a.status === 'ok' ? '' : `: ${a.status} (${a.error ?? ''})`}`);
        for (const x of a.value ?? []) {
          lines.push(`${x.name} ${x.version}${x.supervisor ? '' : '  (library application, no processes)'}`);
          if (x.supervisor) renderNode(x.supervisor, '  ', lines);
        }
      }
      output.out(lines.join('\n'));
      return ExitCode.ok;
    }
    const apps = await withAttachment(args.flags, output, signal, (s) => s.tree(options));
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, { applications: apps.map((a) => ({ name: a.name, description: a.description, version: a.version, supervisor: a.supervisor })) });
      return ExitCode.ok;
    }
    const lines: string[] = [];
    for (const a of apps) {
      lines.push(`${a.name} ${a.version}${a.supervisor ? '' : '  (library application, no processes)'}`);
      if (a.supervisor) renderNode(a.supervisor, '  ', lines);
    }
    output.out(lines.join('\n'));
    return ExitCode.ok;
  },
};

function renderNode(n: TreeNode, indent: string, lines: string[]): void {
  // Dynamic children have the id `undefined`: they go by what they run (the one naming rule).
  const id = n.id !== undefined && n.id !== 'undefined' ? n.id : null;
  const what = processTitle({ name: n.name, module: n.module, label: n.label ?? null, initialCall: null });
  const label = n.name ? formatModule(n.name) : id !== null ? formatModule(id) : n.module ? what : (n.pid ?? '?');
  const bits = [n.pid ?? n.status ?? ''];
  if (n.type === 'supervisor') {
    if (n.strategy) bits.push(n.strategy);
    bits.push(`${n.childCount} ${n.childCount === 1 ? 'child' : 'children'}`);
    if (n.intensity !== undefined) bits.push(`${n.restarts ?? '?'} restarts/${n.period}s of ${n.intensity} allowed`);
  } else if (n.module && label !== what) {
    bits.push(what);
  }
  if (n.error) bits.push(`! ${n.error}`);
  lines.push(`${indent}${n.type === 'supervisor' ? '▸' : '·'} ${label}  ${bits.filter(Boolean).join(' · ')}`);
  for (const c of n.children) renderNode(c, indent + '  ', lines);
  if (n.truncated && n.children.length < n.childCount) lines.push(`${indent}  … ${n.childCount - n.children.length} more (largest by memory shown)`);
}
