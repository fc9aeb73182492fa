// Connection churn from socket samples against a scripted node: sockets opened and closed between
// samples counted under their owner's name, owners read only for new sockets, the unchanged set
// answered by its hash, a socket handed from an acceptor to its connection counted once under the
// connection, and the finding's numbers (counts, rates per minute, lifetimes, peers) from them.
import { strict as assert } from 'node:assert';
import { Atom, Pid, Port, Term, Tuple } from '../../../../src/etf';
import { ConnectionSampler, connectionChurnFindings } from '../../../../src/core/findings/churn';
import type { RemoteEvaluator } from '../../../../src/core/target/remote-eval';

const node = Atom.of('n@h');
const a = Atom.of;
const t = (...xs: Term[]): Tuple => new Tuple(xs);
const port = (id: number): Port => new Port(node, BigInt(id), 1);
const pid = (id: number): Pid => new Pid(node, id, 0, 1);
const chars = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

interface Sock {
  port: Port;
  owner: Pid;
}

function scripted(owners: Map<number, string>): { evaluator: RemoteEvaluator; sockets: Sock[]; asked: { identify: number[]; same: number } } {
  const sockets: Sock[] = [];
  const asked = { identify: [] as number[], same: 0 };
  const hash = (): number => sockets.reduce((h, s) => (h * 31 + Number(s.port.id) * 7 + s.owner.id) % 1_000_003, 7);
  const evaluator = {
    eval(source: string, bindings: Record<string, Term>): Promise<Term> {
      if (source.includes('"tcp_inet"')) {
        if (bindings.Known === hash()) {
          asked.same++;
          return Promise.resolve(a('same'));
        }
        return Promise.resolve(t(a('new'), hash(), sockets.map((s) => t(s.port, s.owner))));
      }
      if (source.includes('inet:peername')) {
        const ps = (bindings.Ps ?? []) as Port[];
        asked.identify.push(ps.length);
        return Promise.resolve(
          ps.map((p) => {
            const s = sockets.find((x) => x.port.id === p.id) as Sock;
            const m = owners.get(s.owner.id) ?? 'unknown';
            return t(p, s.owner, [], t(a('undefined'), a('undefined'), t(a(m), a('init'), 1)), a('undefined'), t(a('proc_lib'), a('init_p'), 5), chars('10.0.0.7'));
          }),
        );
      }
      throw new Error(`unexpected evaluation: ${source}`);
    },
  } as unknown as RemoteEvaluator;
  return { evaluator, sockets, asked };
}

describe('connection churn (socket samples)', () => {
  it('counts sockets opened and closed between samples under their owner, reading owners only for new sockets', async () => {
    const owners = new Map<number, string>([[1, 'ranch_acceptor']]);
    const { evaluator, sockets, asked } = scripted(owners);
    const s = new ConnectionSampler(evaluator, 'n@h', 1000);
    for (let i = 0; i < 3; i++) {
      owners.set(100 + i, 'rabbit_reader');
      sockets.push({ port: port(10 + i), owner: pid(100 + i) });
    }
    sockets.push({ port: port(1), owner: pid(1) }); // the listening socket
    await s.sample(0);
    assert.deepEqual(asked.identify, [4]);
    await s.sample(1000); // nothing changed: the node answers `same`, nothing is identified
    assert.equal(asked.same, 1);
    assert.deepEqual(asked.identify, [4]);
    // Each second one connection closes and a new one opens.
    for (let k = 0; k < 12; k++) {
      sockets.shift();
      owners.set(200 + k, 'rabbit_reader');
      sockets.unshift({ port: port(50 + k), owner: pid(200 + k) });
      await s.sample(2000 + k * 1000);
    }
    // A socket first seen owned by the acceptor, then handed to its connection: one opening, under the connection.
    sockets.push({ port: port(99), owner: pid(1) });
    await s.sample(14_000);
    owners.set(300, 'rabbit_reader');
    (sockets[sockets.length - 1] as Sock).owner = pid(300);
    await s.sample(15_000);
    const c = s.result();
    assert.equal(c.samples, 16);
    assert.equal(c.spanMs, 15_000);
    const readers = c.groups.find((g) => g.owner === 'rabbit_reader');
    assert.ok(readers, JSON.stringify(c.groups));
    assert.equal(readers.openAtStart, 3);
    assert.equal(readers.opened, 13);
    assert.equal(readers.closed, 12);
    assert.equal(readers.openAtEnd, 4);
    assert.deepEqual(readers.peers, { '10.0.0.7': 13 });
    const acceptor = c.groups.find((g) => g.owner === 'ranch_acceptor');
    assert.equal(acceptor?.opened, 0);
    assert.equal(acceptor?.openAtEnd, 1);

    const [f, ...rest] = connectionChurnFindings(c);
    assert.equal(rest.length, 0, 'the listening socket is no churn');
    assert.ok(f);
    assert.equal(f.rule, 'connection-churn');
    assert.equal(f.id, 'connection-churn:rabbit_reader');
    assert.equal(f.title, 'Connections of rabbit_reader churn: 13 opened and 12 closed in 15.0 s (52/min opened, 48/min closed)');
    assert.equal(f.severity, 'warning');
    assert.match(f.evidence.join('\n'), /sampled 16 times every 1\.0 s over 15\.0 s: 3 open at the first sample, 13 opened, 12 closed, 4 open at the last/);
    assert.match(f.evidence.join('\n'), /new connections came from 10\.0\.0\.7 \(13\)/);
    assert.match(f.evidence.join('\n'), /11 connections opened and closed inside the window: each lived 0\.0 s–2\.0 s as the samples bound it \(median at most 2\.0 s\)/);
    assert.match(f.recommendation, /closing AMQP connection/);
    assert.equal(f.subject.module, 'rabbit_reader');
  });

  it('is no finding below the threshold, with one sample, or when the node has too many sockets to list', async () => {
    assert.deepEqual(connectionChurnFindings(undefined), []);
    assert.deepEqual(
      connectionChurnFindings({ samples: 7, spanMs: 60_000, intervalMs: 1000, groups: [{ owner: 'ejabberd_c2s', module: 'ejabberd_c2s', openAtStart: 15, openAtEnd: 15, opened: 2, closed: 2, lifetimesMs: [], peers: {}, examples: [] }] }),
      [],
    );
    const many = {
      eval: () => Promise.resolve(t(a('too_many'), 9000)),
    } as unknown as RemoteEvaluator;
    const s = new ConnectionSampler(many, 'n@h', 1000);
    await s.sample(0);
    await s.sample(1000);
    assert.match(s.result().note ?? '', /not sampled: 9000 ports, more than 5000/);
    assert.equal(s.result().samples, 0);
    assert.deepEqual(connectionChurnFindings(s.result()), []);
  });
});
