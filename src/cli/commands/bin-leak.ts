// `beam-lens bin-leak`: recon's bin_leak, with consent (--allow-gc): garbage-collect the top refc
// binary holders one at a time and show what each freed, measured around each collection and
// against the node's own erlang:memory(binary). Audited and saved like every intrusive run.
import { applyBinaryCollections, binLeakLines, gcTime, mib, verdictOf } from '../../core/findings/binary-gc';
import { processWho } from '../../core/inspect/identity';
import { fileAuditLog } from '../../core/records/audit';
import { BIN_LEAK_LIMITS, binLeakBounds, runBinLeak, type BinaryCollection } from '../../core/runs/bin-leak';
import { BeamLensError } from '../../errors';
import { UsageError, booleanFlag, countFlag, numberFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { printJson, renderTable } from '../output';
import { progressLine, withAttachment } from '../attachment';

const L = BIN_LEAK_LIMITS;

export const binLeakCommand: Command = {
  spec: {
    name: 'bin-leak',
    summary: 'With --allow-gc: garbage-collect the processes holding the most binary memory and show what each freed (held garbage vs. kept binaries).',
    usage: 'beam-lens bin-leak --node NAME --allow-gc [--top N] [--time-limit S] [--json]',
    flags: {
      ...connectionFlags,
      'confirm-node': { type: 'string', value: 'NAME', description: 'on a production node: repeat its name to allow the collections' },
      'allow-gc': { type: 'boolean', description: 'allow forcing garbage collections of the top binary holders (intrusive: they pause while collected)' },
      top: { type: 'number', value: 'N', description: `how many of the top holders to collect (default ${L.defaultTop}, at most ${L.maxTop})`, default: L.defaultTop },
      'time-limit': { type: 'number', value: 'S', description: `stop collecting after this many seconds (default ${L.defaultTimeLimitMs / 1000}, at most ${L.maxTimeLimitMs / 1000})`, default: L.defaultTimeLimitMs / 1000 },
      save: { type: 'string', value: 'FILE', description: 'where to save the session (default .beam-lens/sessions/ID.json)' },
      audit: { type: 'string', value: 'FILE', description: 'audit log (default .beam-lens/audit.log)' },
    },
  },
  async run({ args, output, signal, cwd }) {
    const top = countFlag(args.flags, 'top', L.defaultTop, { max: L.maxTop });
    const seconds = numberFlag(args.flags, 'time-limit') ?? L.defaultTimeLimitMs / 1000;
    try {
      binLeakBounds(top, seconds * 1000);
    } catch (err) {
      throw new UsageError(err instanceof BeamLensError ? err.message.replace('the time limit', '--time-limit') : String(err));
    }
    const auditFile = stringFlag(args.flags, 'audit');
    const saveFile = stringFlag(args.flags, 'save');
    const audit = fileAuditLog({ cwd, actor: { face: 'cli' }, ...(auditFile !== undefined ? { file: auditFile } : {}) });
    const progress = progressLine(output);
    const run = await withAttachment(args.flags, output, signal, (s) =>
      runBinLeak(s, { top, timeLimitMs: seconds * 1000, audit, stop: signal, save: { cwd, ...(saveFile !== undefined ? { file: saveFile } : {}) }, onProgress: progress.report }),
    );
    progress.done();
    const r = run.value;
    const findings = applyBinaryCollections([], r);
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, { session: run.file, ...r, verdicts: Object.fromEntries(r.collected.map((c) => [c.pid, verdictOf(c)])), findings });
      return ExitCode.ok;
    }
    output.out(
      renderTable(
        [
          { header: 'PROCESS', max: 50, cell: (c: BinaryCollection) => processWho({ ...c, pid: c.pid }) },
          { header: 'BEFORE', align: 'right', cell: (c) => `${mib(c.before.bytes)} / ${c.before.count}` },
          { header: 'AFTER', align: 'right', cell: (c) => `${mib(c.after.bytes)} / ${c.after.count}` },
          { header: 'FREED', align: 'right', cell: (c) => mib(c.droppedBytes) },
          { header: 'ONLY IT', align: 'right', cell: (c) => mib(c.soleFreedBytes) },
          { header: 'NODE Δ', align: 'right', cell: (c) => mib(c.node.before - c.node.after) },
          { header: 'GC', align: 'right', cell: (c) => gcTime(c.gcMicros) },
          { header: 'VERDICT', cell: (c) => verdictOf(c) },
        ],
        r.collected,
      ),
    );
    for (const line of binLeakLines(r).slice(r.collected.length)) output.out(line);
    for (const f of findings) output.out(`\n[${f.severity}] ${f.title}\n  → ${f.recommendation}`);
    output.out(`\n(BEFORE/AFTER: bytes / count of refc binaries the process referenced; ONLY IT: freed bytes no other process referenced; saved ${run.file ?? '(not saved)'})`);
    return ExitCode.ok;
  },
};
