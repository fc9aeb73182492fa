// What a session may leave on a target, read back from the node itself: the tests assert it is
// all gone (no trace flags or patterns, no tracer or monitor process, no probe, no system monitor).
import { Atom, Tuple, isAtom, type Term } from '../../src/etf';
import { waitFor, type TestNode } from './harness';

const LEFTOVERS = `
Flagged = [P || P <- erlang:processes(), {flags, F} <- [erlang:trace_info(P, flags)], F =/= []],
%% undefined: the module is not loaded (so nothing can be set on it).
Patterns = [MFA || MFA <- MFAs, {traced, T} <- [erlang:trace_info(MFA, traced)], T =/= false, T =/= undefined]
        ++ [MFA || MFA <- MFAs, {call_count, C} <- [erlang:trace_info(MFA, call_count)], C =/= false, C =/= undefined],
{Flagged, Patterns, whereis(beam_lens_tracer), whereis(beam_lens_monitor), code:is_loaded(beam_lens_probe), erlang:system_monitor()}.`;

/** What is left on the node (empty string: nothing), checking trace patterns on `mfas`. */
export async function leftovers(node: TestNode, mfas: Array<[string, string, number]>, options: { probeMayStay?: boolean } = {}): Promise<string> {
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

/** Waits until the node has nothing of ours left, or fails naming what is left (a generous default deadline: the suite runs on loaded machines). */
export async function clean(node: TestNode, mfas: Array<[string, string, number]>, withinMs = 15_000, options: { probeMayStay?: boolean } = {}): Promise<void> {
  let last = '';
  await waitFor(async () => (last = await leftovers(node, mfas, options)) === '', withinMs, `the target to be clean (${last})`, 100).catch(() => {
    throw new Error(`target not clean within ${withinMs} ms: ${last}`);
  });
}
