// `beam-lens profile PID|NAME` / `--top K`: a sampling profile of one or a few processes (no
// trace flag, no code change), audited and saved as a session; optionally written as a
// speedscope file or as folded stacks.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { toCollapsed, toSpeedscope } from '../../core/profile/export';
import { byTotal, bySelf, summarize } from '../../core/profile/fold';
import { processLabel, type ProfileSession } from '../../core/profile/profile';
import { PROFILE_LIMITS, profilePlan, runProfile } from '../../core/profile/run';
import { busiestProcesses, resolveTargets } from '../../core/profile/targets';
import { UsageError, booleanFlag, countFlag, numberFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { printJson } from '../output';
import { fileAuditLog } from '../../core/records/audit';
import { runAudited } from '../../core/runs/run';
import { probeFlags, withAttachment } from '../attachment';
import { profileText } from './profile-text';

export const profileCommand: Command = {
  spec: {
    name: 'profile',
    summary: 'Sample the stacks of a process (or the --top K busiest) and rank functions by self and total time.',
    usage: 'beam-lens profile PID|NAME --node N [--duration S] [--hz 97] [--top K] [--out FILE [--collapsed]] [--allow-probe] [--json]',
    positionals: ['process?'],
    flags: {
      ...connectionFlags,
      ...probeFlags,
      duration: { type: 'number', value: 'S', description: 'seconds to sample (default 10, at most 600)', default: 10 },
      hz: { type: 'number', value: 'N', description: `samples per second (default ${PROFILE_LIMITS.probe.defaultHz} in the probe, ${PROFILE_LIMITS.rpc.defaultHz} zero-install; at most ${PROFILE_LIMITS.probe.maxHz} / ${PROFILE_LIMITS.rpc.maxHz})` },
      top: { type: 'number', value: 'K', description: 'profile the K processes with the most reductions over 1 s instead of one' },
      'max-samples': { type: 'number', value: 'N', description: `stop after N samples (default ${PROFILE_LIMITS.defaultMaxSamples})` },
      out: { type: 'string', value: 'FILE', description: 'write the profile in speedscope format (or folded stacks with --collapsed)' },
      collapsed: { type: 'boolean', description: "Brendan Gregg's folded stacks (to --out FILE, else stdout) for flamegraph.pl" },
      'include-idle': { type: 'boolean', description: 'count samples where the process waited in receive' },
      limit: { type: 'number', value: 'N', description: 'functions listed per table (default 15)', default: 15 },
      save: { type: 'string', value: 'FILE', description: 'where to save the session (default .beam-lens/sessions/ID.json)' },
      audit: { type: 'string', value: 'FILE', description: 'audit log (default .beam-lens/audit.log)' },
    },
  },
  async run(ctx) {
    const { args, output } = ctx;
    const spec = args.positionals[0];
    const top = numberFlag(args.flags, 'top');
    if ((spec === undefined) === (top === undefined)) throw new UsageError('name one process (PID or registered name) or give --top K');
    if (top !== undefined && !(Number.isInteger(top) && top >= 1 && top <= 20)) throw new UsageError('--top must be from 1 to 20');
    const seconds = numberFlag(args.flags, 'duration') ?? 10;
    const hz = numberFlag(args.flags, 'hz');
    const maxSamples = numberFlag(args.flags, 'max-samples');
    const limit = countFlag(args.flags, 'limit', 15, { max: 500 });
    const includeIdle = booleanFlag(args.flags, 'include-idle');
    const collapsed = booleanFlag(args.flags, 'collapsed');
    const outFile = stringFlag(args.flags, 'out');
    const options = { durationMs: seconds * 1000, ...(hz !== undefined ? { hz } : {}), ...(maxSamples !== undefined ? { maxSamples } : {}) };
    const limits: Record<string, unknown> = { durationMs: options.durationMs, ...(hz !== undefined ? { hz } : {}), ...(maxSamples !== undefined ? { maxSamples } : {}), ...(top !== undefined ? { top } : { process: spec }) };
    const auditFile = stringFlag(args.flags, 'audit');
    const saveFile = stringFlag(args.flags, 'save');
    const audit = fileAuditLog({ cwd: ctx.cwd, actor: { face: 'cli' }, ...(auditFile !== undefined ? { file: auditFile } : {}) });
    // Consent, audit, run and save go through core's run service; the probe needs consent
    // (withSession loads it with --allow-probe), zero-install sampling changes nothing.
    let node = '';
    const record = await withAttachment(args.flags, output, ctx.signal, async (s) => {
      node = s.node;
      const plan = profilePlan(s, options, top ?? 1);
      return runAudited<ProfileSession>({
        session: s,
        kind: 'profile',
        limits,
        consent: plan.mode === 'probe' ? ['probe'] : [],
        audit,
        stop: ctx.signal,
        save: { cwd: ctx.cwd, ...(saveFile !== undefined ? { file: saveFile } : {}) },
        body: async (signal) => {
          const targets = top !== undefined ? await busiestProcesses(s, top) : await resolveTargets(s, [spec as string]);
          // The audit's end entry shows the bounds actually used.
          Object.assign(limits, { mode: plan.mode, hz: plan.hz, maxSamples: plan.maxSamples, processes: targets.map((t) => t.pidText) });
          if (output.progress) output.err(`sampling ${targets.map((t) => processLabel({ pid: t.pidText, name: t.name, initialCall: t.initialCall })).join(', ')} at ${plan.hz} Hz for ${seconds} s (${plan.mode})…`);
          const r = await runProfile(s, targets, { ...options, signal });
          return {
            value: { profile: r.profile, selection: top !== undefined ? { top } : { process: spec as string } },
            endReason: r.endReason,
            ...(r.endDetail ? { endDetail: r.endDetail } : {}),
            durationMs: r.profile.durationMs,
          };
        },
      });
    });
    const file = record.file ?? '';
    const profile = record.value.profile;
    const fold = { includeIdle };
    let written: string | null = null;
    if (outFile !== undefined) {
      written = path.resolve(ctx.cwd, outFile);
      writeFileSync(written, collapsed ? toCollapsed(profile, fold) : JSON.stringify(toSpeedscope(profile, `BEAM Lens profile ${file ? `${path.basename(file, '.json')} ` : ''}on ${node}`, fold)) + '\n');
    } else if (collapsed) {
      output.out(toCollapsed(profile, fold));
    }
    if (booleanFlag(args.flags, 'json')) {
      const s = summarize(profile, fold);
      printJson(output, {
        session: file,
        ...(written ? { out: written } : {}),
        endReason: record.endReason,
        ...(record.endDetail ? { endDetail: record.endDetail } : {}),
        mode: profile.mode,
        durationMs: profile.durationMs,
        stats: profile.stats,
        processes: s.processes,
        busy: s.busy,
        idle: s.idle,
        bySelf: bySelf(s).slice(0, limit).map(brief),
        trunk: s.trunk,
        byTotal: byTotal(s).slice(0, limit).map(brief),
      });
      return ExitCode.ok;
    }
    if (collapsed && outFile === undefined) return ExitCode.ok;
    output.out(profileText(profile, { includeIdle, top: limit }));
    const ended = record.endReason === 'completed' ? '' : ` Ended early (${record.endReason}${record.endDetail ? `: ${record.endDetail}` : ''}); the samples gathered so far are kept.`;
    output.err(`saved ${file}${written ? ` and ${written}` : ''}.${ended}`);
    return ExitCode.ok;
  },
};

function brief(f: ReturnType<typeof summarize>['functions'][number]): Record<string, unknown> {
  return { name: f.name, module: f.module, function: f.function, arity: f.arity, ...(f.file ? { file: f.file } : {}), self: f.self, total: f.total, selfShare: f.selfShare, totalShare: f.totalShare, lines: f.lines.slice(0, 5) };
}
