// Text of a profile for the terminal: who was sampled, how, and the top functions by self and
// by total samples (busy samples only unless idle ones were included). Shared by `profile` and
// `session show`.
import { bySelf, byTotal, summarize, type FoldOptions, type FunctionStat } from '../../core/profile/fold';
import type { ProfileComparison } from '../../core/profile/compare';
import type { Profile } from '../../core/profile/profile';
import { profileOfRecord } from '../../core/profile/saved';
import type { SessionRecord } from '../../core/records/store';
import { formatCount, renderTable } from '../output';

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function hotLine(f: FunctionStat): string {
  const l = f.lines[0];
  const where = f.file ? f.file : '';
  return l && l.line > 0 ? `${where}:${l.line}` : where;
}

export function profileText(profile: Profile, options: FoldOptions & { top: number }): string {
  const s = summarize(profile, options);
  const out: string[] = [];
  const st = profile.stats;
  const who = s.processes.map((p) => `${p.label}${p.exited ? ` (exited: ${p.exited})` : ''}`).join(', ');
  out.push(`${formatCount(st.samples)} samples of ${who} at ${st.hz} Hz over ${(profile.durationMs / 1000).toFixed(1)} s (${profile.mode === 'probe' ? 'in the probe' : profile.mode === 'rpc' ? 'zero-install over rpc' : 'read from a speedscope file'})`);
  out.push(
    `${formatCount(s.busy)} busy, ${formatCount(s.idle)} idle (waiting in receive)${options.includeIdle ? '; idle samples included below' : '; shares below are of busy samples'}`,
  );
  out.push(
    profile.mode === 'speedscope' ? 'sampling cost and back-off: not recorded in a speedscope file' : `cost per sample: ${st.costUsPerSample} µs mean, ${st.costUsMax} µs max (${profile.mode === 'probe' ? 'process_info in the probe' : 'rpc round trip'}); ` +
      `${st.backoffs > 0 ? `slowed down ${st.backoffs} times while the run queue was long (ended at ${Math.round(1e6 / st.intervalUs)} Hz)` : 'no back-off'}${st.lateTicks > 0 ? `, ${st.lateTicks} late ticks` : ''}`,
  );
  if (s.counted === 0) {
    out.push('', 'no busy samples: the process waited in receive the whole time');
    return out.join('\n');
  }
  const self = bySelf(s).slice(0, options.top);
  out.push('', 'TOP BY SELF (where the time is spent)');
  out.push(
    renderTable(
      [
        { header: 'FUNCTION', max: 56, cell: (f: FunctionStat) => f.name },
        { header: 'SELF', align: 'right', cell: (f) => pct(f.selfShare) },
        { header: 'TOTAL', align: 'right', cell: (f) => pct(f.totalShare) },
        { header: 'SAMPLES', align: 'right', cell: (f) => formatCount(f.self) },
        { header: 'HOT LINE', max: 48, cell: hotLine },
      ],
      self,
    ),
  );
  out.push('', 'TOP BY TOTAL (time spent in it and what it calls)');
  out.push(
    renderTable(
      [
        { header: 'FUNCTION', max: 56, cell: (f: FunctionStat) => f.name },
        { header: 'TOTAL', align: 'right', cell: (f) => pct(f.totalShare) },
        { header: 'SELF', align: 'right', cell: (f) => pct(f.selfShare) },
        { header: 'SAMPLES', align: 'right', cell: (f) => formatCount(f.total) },
        { header: 'FILE', max: 48, cell: (f) => f.file ?? '' },
      ],
      byTotal(s).slice(0, options.top),
    ),
  );
  return out.join('\n');
}

/** The profile inside a saved profile session (checked: the file is untrusted). */
/** The profile of a saved profile session (core's reader, shared with the editor). */
export function profileOf(r: SessionRecord, file: string): Profile {
  return profileOfRecord(r, file);
}

const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}`;

/** Function by function: share of busy samples before and after; negative is cheaper now. */
export function profileCompareText(c: ProfileComparison, top: number): string {
  const rows = c.changes.slice(0, top);
  return [
    `busy samples: ${formatCount(c.before.busy)} → ${formatCount(c.after.busy)} (shares are of each run's busy samples; a negative change means cheaper now)`,
    renderTable(
      [
        { header: 'FUNCTION', max: 56, cell: (r: ProfileComparison['changes'][number]) => r.name },
        { header: 'TOTAL BEFORE', align: 'right', cell: (r) => (r.before ? pct(r.before.total) : '-') },
        { header: 'AFTER', align: 'right', cell: (r) => (r.after ? pct(r.after.total) : '-') },
        { header: 'CHANGE', align: 'right', cell: (r) => signed(r.totalDelta) },
        { header: 'SELF BEFORE', align: 'right', cell: (r) => (r.before ? pct(r.before.self) : '-') },
        { header: 'AFTER', align: 'right', cell: (r) => (r.after ? pct(r.after.self) : '-') },
      ],
      rows,
    ),
  ].join('\n');
}
