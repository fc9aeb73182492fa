// Whether a target is left exactly as it was: no process with trace flags, no trace or
// call_count pattern on the given functions, no tracer or monitor of ours, the probe not loaded,
// no system monitor. Polled with a deadline.
import { Atom, Tuple, isAtom, type Term } from '../../src/etf';
import { waitFor, type TestNode } from './harness';

const LEFTOVERS = `
Flagged = [P || P <- erlang:processes(), {flags, F} <- [erlang:trace_info(P, flags)], F =/= []],
Patterns = [MFA || MFA <- MFAs, {traced, T} <- [erlang:trace_info(MFA, traced)], T =/= false]
        ++ [MFA || MFA <- MFAs, {call_count, C} <- [erlang:trace_info(MFA, call_count)], C =/= false],
{Flagged, Patterns, whereis(beam_lens_tracer), whereis(beam_lens_monitor), code:is_loaded(beam_lens_probe), erlang:system_monitor()}.`;

export type Mfa = [string, string, number];

/** What is left on the target ('' when nothing). */
export async function leftovers(node: TestNode, mfas: Mfa[], options: { probeMayStay?: boolean } = {}): Promise<string> {
  const t = (await node.eval(LEFTOVERS, { MFAs: mfas.map(([m, f, a]) => new Tuple([Atom.of(m), Atom.of(f), a])) })) as Tuple;
  const [flagged, patterns, tracer, monitor, loaded, sysmon] = t.elements;
  const problems: string[] = [];
  if ((flagged as Term[]).length > 0) problems.push(`${(flagged as Term[]).length} processes with trace flags`);
  if ((patterns as Term[]).length > 0) problems.push(`${(patterns as Term[]).length} trace patterns`);
  if (!isAtom(tracer, 'undefined')) problems.push('beam_lens_tracer alive');
  if (!isAtom(monitor, 'undefined')) problems.push('beam_lens_monitor alive');
  if (!isAtom(loaded, 'false') && options.probeMayStay !== true) problems.push('probe loaded');
  if (!isAtom(sysmon, 'undefined')) problems.push('system monitor set');
  return problems.join(', ');
}

/** Waits until the target is clean, or throws naming what is left after `withinMs`. */
export async function clean(node: TestNode, mfas: Mfa[], withinMs = 5000, options: { probeMayStay?: boolean } = {}): Promise<void> {
  let last = '';
  await waitFor(async () => (last = await leftovers(node, mfas, options)) === '', withinMs, `the target to be clean (${last})`, 100).catch(() => {
    throw new Error(`target not clean within ${withinMs} ms: ${last}`);
  });
}
