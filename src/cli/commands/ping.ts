import { Atom } from '../../etf';
import { performance } from 'node:perf_hooks';
import { charlistToString } from '../../core/target/terms';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { attachFromFlags } from '../connection';
import { ExitCode } from '../exit-codes';
import { printJson } from '../output';

const RTT_SAMPLES = 5;

export const pingCommand: Command = {
  spec: {
    name: 'ping',
    summary: 'Connect to a node as a hidden node and report its OTP release, ERTS version and round-trip time.',
    usage: 'beam-lens ping --node NAME [--cookie C | --cookie-file F] [--json]',
    flags: { ...connectionFlags },
  },
  async run({ args, output }) {
    const started = performance.now();
    const session = await attachFromFlags(args.flags);
    const connection = session.connection;
    try {
      const connectMs = performance.now() - started;
      const otpRelease = charlistToString(await connection.rpc('erlang', 'system_info', [Atom.of('otp_release')]));
      const ertsVersion = charlistToString(await connection.rpc('erlang', 'system_info', [Atom.of('version')]));
      const samples: number[] = [];
      for (let i = 0; i < RTT_SAMPLES; i++) {
        const t0 = performance.now();
        await connection.rpc('erlang', 'node', []);
        samples.push(performance.now() - t0);
      }
      samples.sort((a, b) => a - b);
      const rttMs = samples[Math.floor(samples.length / 2)] as number;
      const result = { node: connection.peer, env: session.env, otpRelease, ertsVersion, rttMs: round(rttMs), connectMs: round(connectMs) };
      if (args.flags.json === true) printJson(output, result);
      else {
        output.out(
          `${result.node}: OTP ${otpRelease}, ERTS ${ertsVersion}, rpc round trip ${result.rttMs} ms (median of ${RTT_SAMPLES}), connected in ${result.connectMs} ms`,
        );
      }
      return ExitCode.ok;
    } finally {
      await session.detach();
    }
  },
};

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

