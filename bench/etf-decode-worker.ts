// Times one decoder on a payload file in a process of its own, so neither decoder inherits the
// other's garbage. Prints a JSON array of milliseconds. Used by bench/etf-decode.ts.
import { readFileSync } from 'node:fs';
import { decode } from '../src/etf';

const erlangJs = require('erlang_js') as { Erlang: { binary_to_term(data: Buffer, cb: (err: unknown, term: unknown) => void): void } };

const [which, file, roundsText] = process.argv.slice(2);
const bytes = readFileSync(file as string);
const times: number[] = [];
for (let i = 0; i < Number(roundsText); i++) {
  const t0 = process.hrtime.bigint();
  if (which === 'ours') decode(bytes);
  else
    erlangJs.Erlang.binary_to_term(bytes, (err) => {
      if (err) throw err;
    });
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
process.stdout.write(JSON.stringify(times));
