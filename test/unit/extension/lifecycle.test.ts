// Ownership in the extension, with fakes of the connection, the clock and the panels: a resource
// registered after disposal is disposed at once, disposeAll reports every failure, detach closes
// the node's scope (panels, timers, feeds, sessions) and awaits the target's cleanup, a node has
// one identity (the handshake's name), and detach reports what really happened.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Attachment, type AttachmentConnection } from '../../../src/core/attach/attachment';
import type { LocalProcess } from '../../../src/erldist';
import { Disposable, Emitter, RepeatingTimer, disposeAll, type Clock, type IDisposable } from '../../../src/extension/lifecycle';
import { AttachedNode, describeDetach } from '../../../src/extension/node-scope';
import { NodeManager } from '../../../src/extension/nodes';

class FakeConnection implements AttachmentConnection {
  isOpen = true;
  closeCalls = 0;
  private readonly listeners = new Set<(r: string) => void>();
  constructor(
    readonly peer: string,
    private readonly stayOpen = false,
  ) {}
  readonly localName = 'beam_lens_test@h';
  rpc(): Promise<never> {
    return Promise.reject(new Error('no rpc in this test'));
  }
  spawn(): LocalProcess {
    throw new Error('no spawn in this test');
  }
  async close(): Promise<void> {
    this.closeCalls++;
    if (this.stayOpen) return;
    this.drop('closed by us');
  }
  onClose(l: (r: string) => void): IDisposable {
    this.listeners.add(l);
    return { dispose: () => this.listeners.delete(l) };
  }
  drop(reason: string): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    for (const l of [...this.listeners]) l(reason);
    this.listeners.clear();
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
}

/** Timers that never fire by themselves; `pending` is what a leak would leave. */
class FakeClock implements Clock {
  private next = 1;
  readonly timers = new Map<number, () => void>();
  setTimeout(f: () => void): unknown {
    const id = this.next++;
    this.timers.set(id, f);
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  get pending(): number {
    return this.timers.size;
  }
}

class FakePanel implements IDisposable {
  disposed = false;
  readonly closed = new Emitter<void>();
  dispose(): void {
    this.disposed = true;
    this.closed.fire();
  }
  /** The user closes it. */
  close(): void {
    this.dispose();
  }
}

class Owner extends Disposable {
  add<T extends IDisposable>(d: T): T {
    return this._register(d);
  }
}

const target = (node: string) => ({ node, env: 'local' as const, cookie: { kind: 'value' as const, value: 'c' } });

describe('extension lifecycle: Disposable and disposeAll', () => {
  it('disposes what it owns, last first, and a value registered after disposal at once', () => {
    const order: string[] = [];
    const o = new Owner();
    o.add({ dispose: () => order.push('a') });
    o.add({ dispose: () => order.push('b') });
    o.dispose();
    assert.deepEqual(order, ['b', 'a']);
    o.add({ dispose: () => order.push('late') });
    assert.deepEqual(order, ['b', 'a', 'late']);
    o.dispose();
    assert.equal(order.length, 3, 'disposing twice disposes nothing twice');
  });

  it('disposeAll disposes everything even when some fail, and reports every failure', () => {
    const done: number[] = [];
    const list: IDisposable[] = [
      { dispose: () => done.push(1) },
      { dispose: () => { throw new Error('first'); } },
      { dispose: () => done.push(3) },
      { dispose: () => { throw new Error('second'); } },
    ];
    assert.throws(() => disposeAll(list), (e: unknown) => e instanceof AggregateError && e.errors.length === 2);
    assert.deepEqual(done.sort(), [1, 3]);
    assert.equal(list.length, 0);
    assert.throws(() => disposeAll([{ dispose: () => { throw new Error('only'); } }]), /only/);
  });

  it('a repeating timer never leaves a pending timer once disposed, and backs off through its delay', async () => {
    const clock = new FakeClock();
    let ticks = 0;
    let delay = 10;
    const t = new RepeatingTimer(async () => void ticks++, () => delay, clock);
    assert.equal(clock.pending, 1);
    delay = 20;
    await t.now();
    assert.equal(ticks, 1);
    assert.equal(clock.pending, 1, 'rescheduled, not doubled');
    t.dispose();
    assert.equal(clock.pending, 0);
    await t.now();
    assert.equal(ticks, 1, 'a disposed timer does not tick');
  });
});

describe('extension lifecycle: the node scope', () => {
  it('detach leaves no timer, panel, feed or session behind and awaits the sessions\' cleanup', async () => {
    const conn = new FakeConnection('demo@h');
    const n = new AttachedNode(new Attachment(conn, { env: 'local' }), target('demo@h'));
    const clock = new FakeClock();
    const panels = [new FakePanel(), new FakePanel(), new FakePanel()];
    for (const p of panels) n.own(p, p.closed.event);
    n.own(new RepeatingTimer(async () => undefined, () => 1000, clock)); // sidebar refresh
    n.own(new RepeatingTimer(async () => undefined, () => 10_000, clock, undefined, 0)); // facts feed
    panels[0]!.close(); // the user closes one: the scope forgets it
    assert.equal(panels[0]!.closed.listenerCount, 0);
    let cleanedUp = false;
    const session = n.runTask('trace', (signal) => new Promise<string>((resolve) => signal.addEventListener('abort', () => setTimeout(() => { cleanedUp = true; resolve('stopped'); }, 20))));
    assert.equal(n.runningTasks().length, 1);
    const outcome = await n.close();
    assert.equal(await session, 'stopped');
    assert.ok(cleanedUp, 'the cancelled session finished its cleanup before the connection closed');
    assert.ok(panels.every((p) => p.disposed));
    assert.equal(clock.pending, 0, 'no timer left');
    assert.equal(n.resourceCount, 0);
    assert.equal(n.runningTasks().length, 0);
    assert.equal(conn.closeCalls, 1);
    assert.deepEqual({ ...outcome, resourcesDisposed: outcome.resourcesDisposed > 0 }, { node: 'demo@h', probeUnloaded: false, sessionsStopped: 1, sessionsUnfinished: 0, connectionClosed: true, resourcesDisposed: true, problems: [] });
    // Something registered after the node is gone is disposed at once (a late panel, a late timer).
    const late = new FakePanel();
    n.own(late, late.closed.event);
    assert.ok(late.disposed);
    const lateTimer = n.own(new RepeatingTimer(async () => undefined, () => 5, clock));
    assert.equal(lateTimer.pending, false);
    assert.equal(clock.pending, 0);
    assert.equal(await n.close(), outcome, 'closing twice closes once');
    await assert.rejects(n.runTask('late', async () => 1), /being detached/);
  });

  it('says the truth when the connection does not close or a session does not stop', async () => {
    const conn = new FakeConnection('stuck@h', true);
    const n = new AttachedNode(new Attachment(conn, { env: 'local' }), target('stuck@h'), 50);
    void n.runTask('hung', () => new Promise(() => undefined));
    const o = await n.close();
    assert.equal(o.connectionClosed, false);
    assert.equal(o.sessionsUnfinished, 1);
    assert.match(describeDetach(o), /with problems: 1 session\(s\) did not finish.*the connection is still open/);
    assert.doesNotMatch(describeDetach(o), /nothing of ours is left/);
  });
});

describe('extension lifecycle: the node manager', () => {
  const manager = (conns: Map<string, FakeConnection>) =>
    new NodeManager({
      attach: async (t) => {
        const c = conns.get(t.node);
        if (!c) throw Object.assign(new Error(`no node ${t.node}`), { kind: 'noSuchNode' });
        return new Attachment(c, { env: t.env });
      },
      info: () => undefined,
      warn: () => undefined,
      lost: () => undefined,
    });

  it('files a node under the name from the handshake (EPMD says rabbit@vm, the node is rabbit@localhost)', async () => {
    const conns = new Map([['rabbit@vm', new FakeConnection('rabbit@localhost')], ['rabbit@localhost', new FakeConnection('rabbit@localhost')]]);
    const nodes = manager(conns);
    const n = await nodes.attach(target('rabbit@vm'));
    assert.equal(n.node, 'rabbit@localhost');
    assert.equal(nodes.get('rabbit@localhost'), n);
    assert.equal(nodes.get('rabbit@vm'), undefined);
    assert.deepEqual(nodes.list().map((x) => x.node), ['rabbit@localhost']);
    // The same node under its real name is the same attachment; the second connection is closed.
    assert.equal(await nodes.attach(target('rabbit@localhost')), n);
    assert.equal(conns.get('rabbit@localhost')!.isOpen, false);
    const detached: string[] = [];
    nodes.onDidDetach((o) => detached.push(o.node));
    const outcome = await nodes.detach(n.node);
    assert.equal(outcome?.connectionClosed, true);
    assert.equal(conns.get('rabbit@vm')!.isOpen, false, 'the connection of the attached node is really closed');
    assert.deepEqual(detached, ['rabbit@localhost']);
    assert.equal(nodes.list().length, 0);
    assert.equal(await nodes.detach('rabbit@localhost'), null, 'detaching a node not attached says so (null), it does not claim success');
  });

  it('a lost connection closes the scope like a detach; shutdown detaches all before disposing', async () => {
    const a = new FakeConnection('a@h');
    const b = new FakeConnection('b@h');
    const nodes = manager(new Map([['a@h', a], ['b@h', b]]));
    const na = await nodes.attach(target('a@h'));
    await nodes.attach(target('b@h'));
    const clock = new FakeClock();
    na.own(new RepeatingTimer(async () => undefined, () => 100, clock));
    const gone = new Promise((r) => nodes.onDidDetach(r));
    a.drop('connection closed by the peer');
    await gone;
    assert.equal(nodes.get('a@h'), undefined);
    assert.equal(clock.pending, 0);
    assert.equal(a.listenerCount, 0);
    const outcomes = await nodes.shutdown();
    assert.deepEqual(outcomes.map((o) => o.node), ['b@h']);
    assert.equal(b.isOpen, false);
    assert.ok(nodes.isDisposed);
  });
});

describe('extension lifecycle: cluster members reached through an entry node', () => {
  it('a member opened from the entry is a node of its own, owned by the entry: detaching the entry detaches it first', async () => {
    const a = new FakeConnection('a@h');
    const nodes = new NodeManager({ attach: async () => new Attachment(a, { env: 'staging' }), info: () => undefined, warn: () => undefined, lost: () => undefined });
    const entry = await nodes.attach(target('a@h'));
    assert.throws(() => nodes.openMember(entry, 'b@h'), /not a member of a@h's cluster/, 'only a node the entry lists');
    entry.members = ['b@h'];
    const { node: member, opened } = nodes.openMember(entry, 'b@h');
    assert.equal(opened, true);
    assert.equal(member.node, 'b@h');
    assert.equal(member.through, 'a@h');
    assert.equal(member.env, 'staging', 'a member shares the entry\'s environment tag');
    assert.equal(nodes.get('b@h'), member);
    assert.equal(nodes.openMember(entry, 'b@h').node, member, 'opened once');
    assert.throws(() => nodes.openMember(member, 'c@h'), /reached through a@h/);
    const clock = new FakeClock();
    member.own(new RepeatingTimer(async () => undefined, () => 100, clock));
    const order: Array<[string, boolean]> = [];
    nodes.onDidDetach((o) => order.push([o.node, a.isOpen]));
    const outcome = await nodes.detach('a@h');
    assert.deepEqual(order, [['b@h', true], ['a@h', false]], 'the member is detached while the entry\'s connection is still open, then the entry');
    assert.deepEqual(outcome?.problems, []);
    assert.equal(clock.pending, 0, 'the member\'s timers are gone');
    assert.equal(nodes.list().length, 0);
    assert.equal(a.closeCalls, 1, 'only the entry\'s own connection is closed');
  });

  it('detaching a member alone closes nothing and says so truthfully', async () => {
    const a = new FakeConnection('a@h');
    const nodes = new NodeManager({ attach: async () => new Attachment(a, { env: 'local' }), info: () => undefined, warn: () => undefined, lost: () => undefined });
    const entry = await nodes.attach(target('a@h'));
    entry.members = ['b@h'];
    const listeners = a.listenerCount;
    nodes.openMember(entry, 'b@h');
    const o = await nodes.detach('b@h');
    assert.equal(a.listenerCount, listeners, 'the member leaves no listener on the entry\'s connection');
    assert.ok(o);
    assert.deepEqual(o.problems, []);
    assert.equal(o.through, 'a@h');
    assert.equal(a.isOpen, true, 'the entry stays attached');
    assert.match(describeDetach(o), /reached through a@h, so no connection of ours to close; nothing of ours is left on it/);
    await nodes.shutdown();
  });

  it('a lost entry takes its members with it: they are not lost nodes of their own', async () => {
    const a = new FakeConnection('a@h');
    const nodes = new NodeManager({ attach: async () => new Attachment(a, { env: 'local' }), info: () => undefined, warn: () => undefined, lost: () => undefined });
    const entry = await nodes.attach(target('a@h'));
    entry.members = ['b@h'];
    nodes.openMember(entry, 'b@h');
    const gone: string[] = [];
    const both = new Promise<void>((r) => nodes.onDidDetach((o) => gone.push(o.node) === 2 && r()));
    a.drop('connection closed by the peer');
    await both;
    assert.deepEqual(gone.sort(), ['a@h', 'b@h']);
    assert.deepEqual(nodes.lost().map((l) => l.node), ['a@h'], 'only the entry is offered for Reattach');
    assert.equal(nodes.list().length, 0);
    await nodes.shutdown();
  });

  it('attaching to a member by itself replaces the member opened through the entry', async () => {
    const a = new FakeConnection('a@h');
    const b = new FakeConnection('b@h');
    const conns = new Map([['a@h', a], ['b@h', b]]);
    const nodes = new NodeManager({ attach: async (t) => new Attachment(conns.get(t.node)!, { env: 'local' }), info: () => undefined, warn: () => undefined, lost: () => undefined });
    const entry = await nodes.attach(target('a@h'));
    entry.members = ['b@h'];
    const viaEntry = nodes.openMember(entry, 'b@h').node;
    const direct = await nodes.attach(target('b@h'));
    assert.notEqual(direct, viaEntry);
    assert.equal(direct.through, undefined);
    assert.ok(viaEntry.isClosed);
    assert.equal(nodes.get('b@h'), direct);
    assert.equal(b.isOpen, true, 'the direct connection is kept');
    await nodes.detach('a@h');
    assert.equal(nodes.get('b@h'), direct, 'detaching the entry leaves the member attached by itself');
    assert.equal(b.isOpen, true);
    await nodes.shutdown();
    assert.equal(b.isOpen, false);
  });
});

describe('extension commands: one table', () => {
  it('registers exactly the commands package.json contributes', async () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as { contributes: { commands: Array<{ command: string }> } };
    const source = readFileSync(path.join(__dirname, '../../../src/extension/commands.ts'), 'utf8');
    const table = source.slice(source.indexOf('export const COMMANDS'), source.indexOf('satisfies Record<string, Handler>'));
    const ids = [...table.matchAll(/^ {2}'(beamLens\.[A-Za-z]+)':/gm)].map((m) => m[1]);
    // The profiler registers its two commands next to the table (profile-view.ts).
    const profiler = readFileSync(path.join(__dirname, '../../../src/extension/profile-view.ts'), 'utf8');
    const profilerIds = [...profiler.matchAll(/registerCommand\(deps\.log, '(beamLens\.[A-Za-z]+)'/g)].map((m) => m[1]);
    assert.deepEqual([...ids, ...profilerIds].sort(), pkg.contributes.commands.map((c) => c.command).sort());
    assert.doesNotMatch(source, /registerCommand\('beamLens/, 'no command registered outside the table');
  });
});
