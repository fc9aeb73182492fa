// The nodes this MCP server is attached to, by name. Attaching goes through the core attach
// service (the same one the CLI and the editor use); this file only keeps the sessions and picks
// one for a tool call. Detaching undoes everything BEAM Lens set on the node.
import type { AttachRequest } from '../core/attach';
import { parseNodeName } from '../core/attach';
import type { Attachment } from '../core/attach/attachment';
import type { ProbeRelease } from '../core/probe/loader';
import { BeamLensError } from '../errors';

/** Opens a core Attachment for a request: the core attach service (a parameter so a face may wrap it). */
export type Attacher = (request: AttachRequest) => Promise<Attachment>;

export class NodeRegistry {
  private readonly sessions = new Map<string, Attachment>();
  private readonly attaching = new Map<string, Promise<Attachment>>();

  /**
   * `hosted`: sessions a host owns (the VS Code sidebar's attached nodes): listed and used like
   * our own, never detached by us.
   */
  constructor(
    private readonly attacher: Attacher,
    private readonly hosted: () => readonly Attachment[] = () => [],
  ) {}

  list(): Attachment[] {
    const own = [...this.sessions.values()];
    return [...own, ...this.hosted().filter((h) => !this.sessions.has(h.node))];
  }

  names(): string[] {
    return this.list().map((s) => s.node);
  }

  /** Attaches (or returns the session already attached to that node). */
  async attach(request: AttachRequest): Promise<{ session: Attachment; already: boolean }> {
    const name = parseNodeName(request.node);
    const known = this.find(name);
    if (known) return { session: known, already: true };
    const pending = this.attaching.get(name);
    if (pending) return { session: await pending, already: true };
    const p = this.attacher({ ...request, node: name });
    this.attaching.set(name, p);
    try {
      const session = await p;
      this.sessions.set(session.node, session);
      return { session, already: false };
    } finally {
      this.attaching.delete(name);
    }
  }

  /** The session for `node`, or the only one when `node` is omitted. */
  resolve(node: string | undefined): Attachment {
    if (node === undefined || node === '') {
      const all = this.list();
      if (all.length === 1) return all[0] as Attachment;
      if (all.length === 0) {
        throw new BeamLensError('usage', 'no node is attached: call `attach` with {node: "name@host"} first (`list_nodes` shows the nodes on a host)');
      }
      throw new BeamLensError('usage', `several nodes are attached (${this.names().join(', ')}): give {node} to say which one`);
    }
    const s = this.find(node);
    if (s) return s;
    throw new BeamLensError(
      'usage',
      `${node} is not attached${this.list().length > 0 ? ` (attached: ${this.names().join(', ')})` : ''}: call \`attach\` with {node: "${node}"} first`,
    );
  }

  private find(node: string): Attachment | undefined {
    const exact = this.sessions.get(node) ?? this.hosted().find((h) => h.node === node);
    if (exact) return exact;
    // A bare name matches name@anyhost when exactly one attached node has that name.
    if (!node.includes('@')) {
      const matches = this.list().filter((s) => s.node.split('@')[0] === node);
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }

  async detach(node: string): Promise<{ node: string; probe: ProbeRelease | null }> {
    const s = this.resolve(node);
    if (!this.sessions.has(s.node)) throw new BeamLensError('usage', `${s.node} was attached by the editor: detach it there (the BEAM sidebar)`);
    this.sessions.delete(s.node);
    const { probe } = await s.detach();
    return { node: s.node, probe };
  }

  /** Detaches every node (server shutdown). Never throws. */
  async detachAll(): Promise<void> {
    const all = this.list();
    this.sessions.clear();
    await Promise.all(all.map((s) => s.detach().catch(() => undefined)));
  }
}
