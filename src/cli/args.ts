// A small, strict argument parser: unknown flags and missing values are usage errors (exit 2).
import { BeamLensError } from '../errors';

export type FlagType = 'string' | 'boolean' | 'number';

export interface FlagSpec {
  type: FlagType;
  description: string;
  /** Shown in help after the flag name, e.g. NAME. */
  value?: string;
  default?: string | number | boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Names of positional arguments, in order; a trailing '?' marks optional ones. */
  positionals?: string[];
}

export type FlagValues = Record<string, string | number | boolean | undefined>;

export interface ParsedArgs {
  flags: FlagValues;
  positionals: string[];
}

/** A bad command line (kind 'usage', exit 2). */
export class UsageError extends BeamLensError {
  constructor(message: string) {
    super('usage', message);
    this.name = 'UsageError';
  }
}

export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const flags: FlagValues = {};
  for (const [name, f] of Object.entries(spec.flags)) if (f.default !== undefined) flags[name] = f.default;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const f = spec.flags[name];
    if (f === undefined) {
      const hint = closest(name, Object.keys(spec.flags));
      throw new UsageError(
        `unknown option --${name} for \`beam-lens ${spec.name}\`${hint ? ` (did you mean --${hint}?)` : ''}`,
      );
    }
    if (f.type === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let raw: string | undefined;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else {
      raw = argv[i + 1];
      if (raw === undefined || (raw.startsWith('--') && raw.length > 2)) {
        throw new UsageError(`--${name} needs a value${f.value ? ` (${f.value})` : ''}`);
      }
      i++;
    }
    if (f.type === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got "${raw}"`);
      flags[name] = n;
    } else {
      flags[name] = raw;
    }
  }
  const declared = spec.positionals ?? [];
  const required = declared.filter((p) => !p.endsWith('?')).length;
  if (positionals.length < required) {
    throw new UsageError(`missing ${declared[positionals.length]?.replace('?', '')} — usage: ${spec.usage}`);
  }
  if (positionals.length > declared.length) {
    throw new UsageError(`unexpected argument "${positionals[declared.length]}" — usage: ${spec.usage}`);
  }
  return { flags, positionals };
}

export function stringFlag(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function numberFlag(flags: FlagValues, name: string): number | undefined {
  const v = flags[name];
  return typeof v === 'number' ? v : undefined;
}

export function booleanFlag(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}

/** A positive integer flag with a default; rejects fractions, zero and negatives. */
export function countFlag(flags: FlagValues, name: string, fallback: number, { min = 1, max = Number.MAX_SAFE_INTEGER } = {}): number {
  const v = numberFlag(flags, name);
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got ${v}`);
  }
  return v;
}

export function helpText(spec: CommandSpec): string {
  const lines = [`${spec.summary}`, '', `usage: ${spec.usage}`];
  const entries = Object.entries(spec.flags);
  if (entries.length > 0) {
    lines.push('', 'options:');
    const width = Math.max(...entries.map(([n, f]) => n.length + (f.value ? f.value.length + 1 : 0))) + 4;
    for (const [n, f] of entries) {
      const left = `  --${n}${f.value ? ` ${f.value}` : ''}`;
      lines.push(`${left.padEnd(width + 2)}${f.description}`);
    }
  }
  return lines.join('\n');
}

function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] as number;
}
