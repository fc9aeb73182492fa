// The earliest record of a node's loaded modules, across BEAM Lens instances. Each instance (an OS
// process: the editor, `beam-lens mcp`, a CLI) records what was loaded when it attached, and
// restores that on detach. When a second instance attaches while the first is there, the modules
// the first one's zero-install work loaded (erl_eval pulls erl_scan, erl_anno, …) are already in
// the second's own snapshot: restoring to it would keep them for good. So an instance attaching
// asks the other BEAM Lens instances attached to the node (its hidden nodes named beam_lens_*)
// for their record, through the node itself (we are not connected to each other): the node relays
// our question to their registered `beam_lens_records` mailbox and their answer back to our
// mailbox, and our record is our snapshot without what any of theirs lacks. Nothing is put on the
// node for it: two messages relayed by two rpc calls; an instance that does not answer within a
// second (an older release, a busy one) is left out.
import { Atom, Pid, Tuple, isAtom, type Term } from '../../etf';
import type { LocalProcess } from '../../erldist';
import type { RpcChannel } from './rpc';

/** The mailbox name each attached instance answers record requests on (on its own hidden node). */
export const RECORDS_NAME = 'beam_lens_records';
const REQUEST = 'beam_lens_record_request';
const ANSWER = 'beam_lens_record';

/** A channel that can also spawn local processes and names our hidden node (NodeConnection). */
export type PeerChannel = RpcChannel & { readonly localName: string; spawn(): LocalProcess; readonly relay?: unknown };

function isPeerChannel(c: RpcChannel): c is PeerChannel {
  const x = c as Partial<PeerChannel>;
  return typeof x.spawn === 'function' && typeof x.localName === 'string' && x.relay === undefined;
}

/**
 * `own` (our snapshot, taken first) without the modules another attached instance's record lacks.
 * Any failure leaves `own` as it is.
 */
export async function earliestRecord(channel: RpcChannel, own: Set<string>, waitMs = 1000): Promise<Set<string>> {
  if (!isPeerChannel(channel)) return own;
  try {
    const hidden = await channel.rpc('erlang', 'nodes', [Atom.of('hidden')], { timeoutMs: 5000 });
    const peers = (Array.isArray(hidden) ? hidden : []).filter((n): n is Atom => n instanceof Atom && n.name.startsWith('beam_lens_') && n.name !== channel.localName).slice(0, 16);
    if (peers.length === 0) return own;
    const me = channel.spawn();
    try {
      // noconnect: a peer that left since nodes(hidden) answered must not make the node dial it.
      await Promise.all(
        peers.map((peer) =>
          channel.rpc('erlang', 'send', [new Tuple([Atom.of(RECORDS_NAME), peer]), new Tuple([Atom.of(REQUEST), me.pid, Atom.of(channel.peer)]), [Atom.of('noconnect')]], { timeoutMs: 5000 }),
        ),
      );
      const out = new Set(own);
      const deadline = Date.now() + waitMs;
      for (let answered = 0; answered < peers.length; answered++) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        const list = await me
          .receive((m) => (m instanceof Tuple && m.size === 2 && isAtom(m.at(0), ANSWER) && Array.isArray(m.at(1)) ? (m.at(1) as Term[]) : undefined), left)
          .catch(() => null);
        if (list === null) break;
        const theirs = new Set(list.filter((t): t is Atom => t instanceof Atom).map((a) => a.name));
        for (const m of own) if (!theirs.has(m)) out.delete(m);
      }
      return out;
    } finally {
      me.exit();
    }
  } catch {
    return own;
  }
}

/**
 * Answers other instances' record requests for `channel.peer` with `record` until stopped (the
 * attachment's detach): their question and our answer are relayed by the node. Returns the stop.
 * Only one answerer per hidden node (a connection has its own); requests for another node, or
 * malformed ones, are ignored.
 */
export function answerRecordRequests(channel: RpcChannel, record: Promise<Set<string> | null>): () => void {
  if (!isPeerChannel(channel)) return () => undefined;
  let p: LocalProcess;
  try {
    p = channel.spawn();
    p.node.register(RECORDS_NAME, p);
  } catch {
    // A channel that cannot host a mailbox (a test double): no answers, nothing to stop.
    return () => undefined;
  }
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const req = await p
        .receive((m) => (m instanceof Tuple && m.size === 3 && isAtom(m.at(0), REQUEST) && m.at(1) instanceof Pid && m.at(2) instanceof Atom ? m : undefined))
        .catch(() => null);
      if (req === null) return;
      const about = req.at(2);
      if (!(about instanceof Atom) || about.name !== channel.peer) continue;
      const mine = await record.catch(() => null);
      if (mine === null) continue;
      await channel
        .rpc('erlang', 'send', [req.at(1) as Pid, new Tuple([Atom.of(ANSWER), [...mine].map((m) => Atom.of(m))]), [Atom.of('noconnect')]], { timeoutMs: 5000 })
        .catch(() => undefined);
    }
  })();
  return () => {
    stopped = true;
    p.exit();
  };
}
