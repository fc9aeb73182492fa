import { strict as assert } from 'node:assert';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Atom, Pid, Ref, Tuple, isAtom, type Term } from '../../../src/etf';
import { Cookie, DistError, DFLAG, OUR_FLAGS, connect, listNodes, lookupNodePort, type NodeConnection } from '../../../src/erldist';
import { a, charlist, shortHost, startNode, uniqueName, waitFor, type TestNode } from '../harness';

describe('distribution client against real nodes', function () {
  this.timeout(120_000);
  let target: TestNode;
  let conn: NodeConnection;

  before(async () => {
    target = await startNode();
    conn = await connect({ node: target.node, cookie: target.cookie });
  });
  after(async () => {
    await conn?.close();
    await target?.stop();
  });

  it('lists the node in EPMD and looks up its port', async () => {
    const nodes = await listNodes('localhost');
    assert.ok(nodes.some((n) => n.name === target.name && n.port === target.port));
    const found = await lookupNodePort('localhost', target.name);
    assert.equal(found?.port, target.port);
    assert.equal(await lookupNodePort('localhost', 'no_such_node_here'), null);
  });

  it('attaches and runs rpc: otp_release and processes()', async () => {
    const release = await conn.rpc('erlang', 'system_info', [a('otp_release')]);
    assert.match(charlist(release), /^\d+$/);
    const pids = await conn.rpc('erlang', 'processes', []);
    assert.ok(Array.isArray(pids) && pids.length > 10 && pids.every((p) => p instanceof Pid));
    assert.equal((await conn.rpc('erlang', 'node', [])) as Atom, a(target.node));
  });

  it('is hidden: in the target nodes(hidden), never in nodes()', async () => {
    const visible = (await conn.rpc('erlang', 'nodes', [])) as Term[];
    const hidden = (await conn.rpc('erlang', 'nodes', [a('hidden')])) as Term[];
    assert.ok(hidden.includes(a(conn.localName)), 'we are in nodes(hidden)');
    assert.ok(!visible.includes(a(conn.localName)), 'we are not in nodes()');
    assert.equal(DFLAG.PUBLISHED & OUR_FLAGS, 0n);
  });

  it('moves a 10 MB binary both ways', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    assert.equal(await conn.rpc('erlang', 'byte_size', [big]), big.length);
    assert.equal(await conn.rpc('erlang', 'md5', [big]).then((d) => (d as Buffer).toString('hex')), (await import('node:crypto')).createHash('md5').update(big).digest('hex'));
    const back = await conn.rpc('binary', 'copy', [Buffer.from('0123456789'), 1024 * 1024], { timeoutMs: 30_000 });
    assert.ok(Buffer.isBuffer(back));
    assert.equal(back.length, 10 * 1024 * 1024);
    assert.equal(back.subarray(10 * 1024 * 1024 - 10).toString(), '0123456789');
  });

  it('runs 1,000 concurrent rpcs, each getting its own answer', async () => {
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => conn.rpc('erlang', 'abs', [-i])));
    assert.deepEqual(results, Array.from({ length: 1000 }, (_, i) => i));
  });

  it('turns {badrpc, _} into an rpc error and times out cleanly', async () => {
    await assert.rejects(conn.rpc('erlang', 'no_such_function', []), (e: unknown) => e instanceof DistError && e.kind === 'rpc' && /undef/.test(e.message));
    const t0 = performance.now();
    await assert.rejects(conn.rpc('timer', 'sleep', [5000], { timeoutMs: 300 }), (e: unknown) => e instanceof DistError && e.kind === 'timeout');
    // Ended by our 300 ms timeout, not by the 5 s sleep (with room for a loaded machine).
    assert.ok(performance.now() - t0 < 4500, `${Math.round(performance.now() - t0)} ms`);
    // The connection is still fine afterwards; the late reply is dropped.
    assert.equal(await conn.rpc('erlang', 'abs', [-7]), 7);
  });

  it('links fire both ways', async () => {
    const local = conn.spawn();
    // Remote -> local: a remote process linked to us exits; we get {'EXIT', Pid, Reason}.
    const remote = (await target.eval(`spawn(fun() -> receive {go, R} -> exit(R) end end).`)) as Pid;
    local.link(remote);
    await waitFor(async () => {
      const links = await conn.rpc('erlang', 'process_info', [remote, a('links')]);
      return links instanceof Tuple && (links.elements[1] as Term[]).some((p) => p instanceof Pid && p.node.name === conn.localName);
    }, 5000, 'the link to be set');
    local.send(remote, new Tuple([a('go'), a('boom')]));
    const exit = await local.receive((m) => (m instanceof Tuple && isAtom(m.elements[0], 'EXIT') ? m : undefined), 5000);
    assert.equal(exit.elements[1] instanceof Pid && (exit.elements[1] as Pid).id, remote.id);
    assert.ok(isAtom(exit.elements[2], 'boom'));
    // Local -> remote: a trapping remote process linked to our process sees our exit.
    const watcher = (await target.eval(`
      Parent = self(),
      spawn(fun() -> process_flag(trap_exit, true), register(bl_link_watcher, self()),
                     receive {link_to, P} -> link(P) end,
                     receive {'EXIT', From, Why} -> ets:insert(bl_results, {link, From, Why}) end end),
      ets:new(bl_results, [named_table, public]),
      ets:give_away(bl_results, whereis(init), []),
      ok.`)) as Term;
    assert.ok(isAtom(watcher, 'ok'));
    // A message to a name nobody has registered yet is dropped: wait for the registration.
    await waitFor(() => target.eval(`whereis(bl_link_watcher) =/= undefined.`).then((v) => isAtom(v, 'true')), 5000, 'the watcher to register');
    const other = conn.spawn();
    other.send({ name: 'bl_link_watcher', node: target.node }, new Tuple([a('link_to'), other.pid]));
    await waitFor(async () => {
      const links = (await target.eval(`element(2, erlang:process_info(whereis(bl_link_watcher), links)).`)) as Term[];
      return links.length > 0;
    }, 5000, 'the remote link to our process');
    other.exit(a('we_are_done'));
    const row = await waitFor(async () => {
      const rows = (await conn.rpc('ets', 'lookup', [a('bl_results'), a('link')])) as Term[];
      return rows.length > 0 ? (rows[0] as Tuple) : undefined;
    }, 5000, 'the remote side to see our exit');
    assert.ok(isAtom(row.elements[2], 'we_are_done'));
    assert.equal((row.elements[1] as Pid).node.name, conn.localName);
    local.exit();
  });

  it('monitors fire both ways', async () => {
    const local = conn.spawn();
    const remote = (await target.eval(`spawn(fun() -> receive stop -> exit(stopped) end end).`)) as Pid;
    const ref = local.monitor(remote);
    local.send(remote, a('stop'));
    const down = await local.receive((m) => (m instanceof Tuple && isAtom(m.elements[0], 'DOWN') ? m : undefined), 5000);
    assert.ok(down.elements[1] instanceof Ref && (down.elements[1] as Ref).key === ref.key);
    assert.ok(isAtom(down.elements[4], 'stopped'));
    // A remote process monitoring ours gets DOWN when ours exits.
    const ours = conn.spawn();
    await target.eval(`ets:new(bl_monitor_results, [named_table, public]), ets:give_away(bl_monitor_results, whereis(init), []), ok.`);
    const watcher = (await conn.rpc('erlang', 'spawn', [a('erlang'), a('apply'), [await fn(target, `fun(P) -> R = erlang:monitor(process, P), receive {'DOWN', R, process, _, Why} -> ets:insert(bl_monitor_results, {down, Why}) end end`), [ours.pid]]])) as Pid;
    assert.ok(watcher instanceof Pid);
    await waitFor(() => ours.monitoredBy.size > 0, 5000, 'the remote monitor on our process');
    ours.exit(a('bye'));
    const row = await waitFor(async () => ((await conn.rpc('ets', 'lookup', [a('bl_monitor_results'), a('down')])) as Term[])[0], 5000, 'DOWN on the remote side');
    assert.ok(isAtom((row as Tuple).elements[1], 'bye'));
    local.exit();
  });

  it('connects directly by host and port, bypassing EPMD', async () => {
    const direct = await connect({ node: target.node, cookie: target.cookie, host: '127.0.0.1', port: target.port });
    try {
      assert.equal(await direct.rpc('erlang', 'abs', [-3]), 3);
    } finally {
      await direct.close();
    }
  });

  it('closing makes the target see nodedown', async () => {
    await target.eval(`
      ets:new(bl_nodedown, [named_table, public, bag]), ets:give_away(bl_nodedown, whereis(init), []),
      spawn(fun() -> net_kernel:monitor_nodes(true, [{node_type, all}]), register(bl_nodedown_watcher, self()),
            (fun Loop() -> receive {nodedown, N, _} -> ets:insert(bl_nodedown, {N}), Loop(); _ -> Loop() end end)() end),
      ok.`);
    await waitFor(() => target.eval(`whereis(bl_nodedown_watcher) =/= undefined.`).then((v) => isAtom(v, 'true')), 5000, 'the watcher');
    const extra = await connect({ node: target.node, cookie: target.cookie });
    const name = extra.localName;
    await extra.close();
    await waitFor(async () => ((await target.eval(`ets:lookup(bl_nodedown, '${name}').`)) as Term[]).length > 0, 10_000, 'nodedown on the target');
  });
});

async function fn(target: TestNode, source: string): Promise<Term> {
  return target.eval(`${source}.`);
}

describe('distribution client: several nodes, long names, ticks', function () {
  this.timeout(120_000);

  it('talks to several nodes at once from one local node', async () => {
    const [n1, n2] = await Promise.all([startNode(), startNode({ kind: 'elixir' })]);
    try {
      const c1 = await connect({ node: n1.node, cookie: n1.cookie });
      const c2 = await connect({ node: n2.node, cookie: n2.cookie, localNode: c1.node });
      assert.equal(c1.node, c2.node);
      assert.deepEqual(c1.node.connectedNodes.sort(), [n1.node, n2.node].sort());
      const [r1, r2] = await Promise.all([c1.rpc('erlang', 'node', []), c2.rpc('erlang', 'node', [])]);
      assert.equal((r1 as Atom).name, n1.node);
      assert.equal((r2 as Atom).name, n2.node);
      // Elixir is there on the second node.
      assert.ok(isAtom(await c2.rpc('Elixir.Code', 'ensure_loaded?', [a('Elixir.Enum')]), 'true'));
      await c1.close();
      assert.equal((await c2.rpc('erlang', 'abs', [-1])) as number, 1, 'closing one leaves the other');
      await c2.close();
    } finally {
      await Promise.all([n1.stop(), n2.stop()]);
    }
  });

  it('connects to a node with long names', async () => {
    const n = await startNode({ longNames: true });
    try {
      assert.match(n.node, /@127\.0\.0\.1$/);
      const c = await connect({ node: n.node, cookie: n.cookie });
      assert.match(c.localName, /@127\.0\.0\.1$/);
      assert.equal(((await c.rpc('erlang', 'node', [])) as Atom).name, n.node);
      await c.close();
    } finally {
      await n.stop();
    }
  });

  it('survives idling past a short net_ticktime (4 s)', async () => {
    const n = await startNode({ args: ['-kernel', 'net_ticktime', '4'] });
    try {
      const c = await connect({ node: n.node, cookie: n.cookie });
      assert.equal(await c.rpc('net_kernel', 'get_net_ticktime', []), 4);
      // Idle for three tick times: a peer that did not answer ticks would be dropped after ~4-5 s.
      const idleUntil = Date.now() + 12_000;
      await waitFor(() => Date.now() >= idleUntil || !c.isOpen, 15_000, 'the idle period', 500);
      assert.ok(c.isOpen, 'the connection is still open');
      assert.equal(await c.rpc('erlang', 'abs', [-5]), 5);
      const hidden = (await c.rpc('erlang', 'nodes', [a('hidden')])) as Term[];
      assert.ok(hidden.includes(a(c.localName)));
      await c.close();
    } finally {
      await n.stop();
    }
  });
});

describe('distribution client: errors a person can act on', function () {
  this.timeout(60_000);
  let target: TestNode;
  before(async () => {
    target = await startNode();
  });
  after(async () => target?.stop());

  async function targetStillWorks(): Promise<void> {
    const c = await connect({ node: target.node, cookie: target.cookie });
    assert.equal(await c.rpc('erlang', 'abs', [-2]), 2);
    const visible = (await c.rpc('erlang', 'nodes', [a('connected')])) as Term[];
    assert.deepEqual(visible.map((x) => (x as Atom).name), [c.localName], 'no leftover connections from failed attempts');
    await c.close();
  }

  it('wrong cookie: "rejected the cookie" (not a timeout), and the cookie never shows', async () => {
    const secret = 'not-the-right-cookie-' + uniqueName();
    const t0 = performance.now();
    const err = await connect({ node: target.node, cookie: new Cookie(secret) }).then(
      () => assert.fail('connected with a wrong cookie'),
      (e: unknown) => e,
    );
    const elapsed = performance.now() - t0;
    assert.ok(err instanceof DistError);
    assert.equal(err.kind, 'auth');
    assert.match(err.message, new RegExp(`node ${target.node} rejected the cookie`));
    // Rejected, not timed out (connect's own deadline is 5 s; room for a loaded machine).
    assert.ok(elapsed < 4500, `took ${elapsed} ms`);
    assert.ok(!err.message.includes(secret) && !String(err.stack).includes(secret));
    assert.ok(!JSON.stringify(new Cookie(secret)).includes(secret));
    assert.ok(!(await import('node:util')).inspect({ c: new Cookie(secret) }).includes(secret));
    await targetStillWorks();
  });

  it('no such node: names the nodes that are there', async () => {
    const err = await connect({ node: `nobody_${process.pid}@${shortHost()}`, cookie: target.cookie }).catch((e: unknown) => e);
    assert.ok(err instanceof DistError);
    assert.equal(err.kind, 'noSuchNode');
    assert.match(err.message, new RegExp(`no node named nobody_${process.pid} on ${shortHost()}; nodes there: .*${target.name}`));
  });

  it('closed port: unreachable, bounded', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const t0 = performance.now();
    const err = await connect({ node: target.node, cookie: target.cookie, host: '127.0.0.1', port, timeoutMs: 1000 }).catch((e: unknown) => e);
    assert.ok(err instanceof DistError && err.kind === 'unreachable', String(err));
    assert.match((err as Error).message, /connection refused/);
    // Bounded (a refusal is immediate; room for a loaded machine).
    assert.ok(performance.now() - t0 < 4500, `${Math.round(performance.now() - t0)} ms`);
  });

  it('no EPMD on the host: unreachable with a hint', async () => {
    const err = await connect({ node: 'x@127.0.0.2', cookie: target.cookie, timeoutMs: 1000 }).catch((e: unknown) => e);
    // 127.0.0.2 reaches this machine's loopback; EPMD may listen on all addresses, so either outcome names the problem.
    assert.ok(err instanceof DistError && ['unreachable', 'noSuchNode'].includes(err.kind), String(err));
  });

  it('a peer that accepts but never talks: a timeout, bounded', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const t0 = performance.now();
    const err = await connect({ node: target.node, cookie: target.cookie, host: '127.0.0.1', port, timeoutMs: 800 }).catch((e: unknown) => e);
    assert.ok(err instanceof DistError && err.kind === 'timeout', String(err));
    // Bounded by our 800 ms timeout (room for a loaded machine).
    assert.ok(performance.now() - t0 < 4500, `${Math.round(performance.now() - t0)} ms`);
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('a node that requires a capability we lack: says which', async () => {
    // Without the MANDATORY_25_DIGEST bit an OTP 25+ node checks each mandatory flag itself.
    const flags = OUR_FLAGS & ~(DFLAG.MAP_TAG | DFLAG.BIG_CREATION | DFLAG.MANDATORY_25_DIGEST);
    const err = await connect({ node: target.node, cookie: target.cookie, flags }).catch((e: unknown) => e);
    if (!(err instanceof DistError)) await (err as NodeConnection).close();
    assert.ok(err instanceof DistError, 'the node must refuse us');
    assert.equal(err.kind, 'capability');
    assert.match(err.message, /MAP_TAG/);
    assert.match(err.message, /BIG_CREATION/);
    await targetStillWorks();
  });
});
