import { listNodes, shortHostname } from '../../erldist';
import { numberFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { ExitCode } from '../exit-codes';
import { printJson, renderTable } from '../output';

export const nodesCommand: Command = {
  spec: {
    name: 'nodes',
    summary: 'List the Erlang/Elixir nodes registered in EPMD on a host.',
    usage: 'beam-lens nodes [--host H] [--json]',
    flags: {
      host: { type: 'string', value: 'H', description: 'host whose EPMD to ask (default: this machine)' },
      timeout: { type: 'number', value: 'MS', description: 'timeout in milliseconds', default: 3000 },
      json: { type: 'boolean', description: 'machine-readable output' },
    },
  },
  async run({ args, output }) {
    const host = stringFlag(args.flags, 'host') ?? 'localhost';
    const nodes = await listNodes(host, { timeoutMs: numberFlag(args.flags, 'timeout') ?? 3000 });
    const shortHost = host === 'localhost' ? shortHostname() : host;
    // EPMD knows names, not host parts: a node started as name@localhost or with a long name
    // registers the same way. The node column is a guess; `ping --node` tells.
    const rows = nodes.map((n) => ({ name: n.name, node: `${n.name}@${shortHost}`, port: n.port, hostGuessed: true }));
    if (args.flags.json === true) {
      printJson(output, { host, nodes: rows, note: `EPMD does not know the host part of node names: ${shortHost} is a guess (a node may be name@localhost or use a long name)` });
    } else if (rows.length === 0) {
      output.out(`no nodes registered in EPMD on ${host}`);
    } else {
      output.out(
        renderTable(
          [
            { header: 'NAME', cell: (r) => r.name },
            { header: 'NODE (HOST GUESSED)', cell: (r) => r.node },
            { header: 'PORT', align: 'right', cell: (r) => String(r.port) },
          ],
          rows,
        ),
      );
      output.out(`EPMD does not know the host part: "${shortHost}" is a guess; a node may be NAME@localhost or use a long name (\`beam-lens ping --node NAME@HOST\` tells which one answers)`);
    }
    return ExitCode.ok;
  },
};
