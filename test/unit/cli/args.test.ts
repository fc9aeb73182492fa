import { strict as assert } from 'node:assert';
import { UsageError, countFlag, parseArgs, type CommandSpec } from '../../../src/cli/args';
import { ExitCode, exitCodeFor, exitCodeForKind } from '../../../src/cli/exit-codes';
import { attachError } from '../../../src/core/attach';
import { BeamLensError, describeKind, errorKinds } from '../../../src/errors';
import { formatBytes, formatCount, renderTable } from '../../../src/cli/output';

const spec: CommandSpec = {
  name: 'processes',
  summary: 'x',
  usage: 'beam-lens processes [--limit N]',
  flags: {
    limit: { type: 'number', description: 'rows', default: 50 },
    sort: { type: 'string', description: 'key' },
    json: { type: 'boolean', description: 'json' },
  },
  positionals: ['pid?'],
};

describe('cli argument parsing', () => {
  it('reads flags in both --k v and --k=v forms, with defaults', () => {
    assert.deepEqual(parseArgs(spec, ['--sort', 'memory', '--json']), {
      flags: { limit: 50, sort: 'memory', json: true },
      positionals: [],
    });
    assert.deepEqual(parseArgs(spec, ['--limit=5', '<0.1.0>']).flags.limit, 5);
    assert.deepEqual(parseArgs(spec, ['--limit=5', '<0.1.0>']).positionals, ['<0.1.0>']);
  });

  it('suggests the closest flag for a typo', () => {
    assert.throws(() => parseArgs(spec, ['--limt', '3']), (e: unknown) => e instanceof UsageError && /did you mean --limit\?/.test(e.message));
  });

  it('rejects a missing value, a bad number and extra arguments', () => {
    assert.throws(() => parseArgs(spec, ['--sort']), /--sort needs a value/);
    assert.throws(() => parseArgs(spec, ['--limit', 'ten']), /--limit expects a number, got "ten"/);
    assert.throws(() => parseArgs(spec, ['a', 'b']), /unexpected argument "b"/);
    assert.throws(() => parseArgs(spec, ['--json=yes']), /--json takes no value/);
  });

  it('bounds count flags', () => {
    assert.equal(countFlag({ limit: 10 }, 'limit', 50), 10);
    assert.equal(countFlag({}, 'limit', 50), 50);
    assert.throws(() => countFlag({ limit: 0 }, 'limit', 50), /--limit must be a whole number from 1/);
    assert.throws(() => countFlag({ limit: 2.5 }, 'limit', 50), /whole number/);
  });

  it('maps error kinds and phases to the documented exit codes', () => {
    assert.equal(exitCodeFor(new UsageError('x')), ExitCode.usage);
    assert.equal(exitCodeFor(new BeamLensError('auth', 'x', { phase: 'attach' })), ExitCode.cannotConnect);
    assert.equal(exitCodeFor(new BeamLensError('unreachable', 'x', { phase: 'attach' })), ExitCode.cannotConnect);
    assert.equal(exitCodeFor(new BeamLensError('consentRequired', 'x')), ExitCode.refusedForSafety);
    assert.equal(exitCodeFor(new Error('x')), ExitCode.failure);
    // A timeout while attaching cannot connect (3); the same timeout in the middle of a run is a failure (1).
    assert.equal(exitCodeFor(new BeamLensError('timeout', 'x', { phase: 'attach' })), ExitCode.cannotConnect);
    assert.equal(exitCodeFor(new BeamLensError('timeout', 'x')), ExitCode.failure);
    // A node that goes down (or a link that goes silent) is 3 at any time (issue 14).
    assert.equal(exitCodeFor(new BeamLensError('nodeDown', 'x')), ExitCode.cannotConnect);
    assert.equal(exitCodeFor(attachError(new BeamLensError('nodeDown', 'x'))), ExitCode.cannotConnect);
    assert.equal(exitCodeFor(attachError(new Error('bug'))), ExitCode.failure, 'an internal error is never "cannot connect"');
    // Every kind has a code and a description (the switches are exhaustive).
    for (const kind of errorKinds) {
      assert.ok(Object.values(ExitCode).includes(exitCodeForKind(kind, 'run')), kind);
      assert.ok(describeKind(kind).length > 0, kind);
    }
  });
});

describe('cli text output', () => {
  it('aligns columns and fits 100 columns', () => {
    const rows = [{ a: 'x'.repeat(200), b: 12 }, { a: 'short', b: 3456 }];
    const text = renderTable([{ header: 'NAME', cell: (r: (typeof rows)[0]) => r.a }, { header: 'N', align: 'right', cell: (r) => String(r.b) }], rows);
    const lines = text.split('\n');
    assert.ok(lines.every((l) => l.length <= 100), lines.map((l) => l.length).join(','));
    assert.ok(lines[1]?.includes('…'));
    assert.ok(lines[2]?.endsWith('3456'));
    assert.equal(lines[1]?.length, lines[2]?.length);
  });

  it('uses human units', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(300 * 1024 * 1024), '300 MiB');
    assert.equal(formatCount(302_000), '302.0k');
    assert.equal(formatCount(1_200_000), '1.2M');
  });
});
