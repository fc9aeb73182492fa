import { strict as assert } from 'node:assert';
import { Atom, Pid, Tuple } from '../../../../src/etf';
import { comparableText } from '../../../../src/core/cluster/messages';
import { eventFrom } from '../../../../src/core/runs/trace';

describe('messages across nodes', () => {
  it('compares a message as printed on the sender and on the receiver (pids, ports and refs without their node part)', () => {
    const sent = "{ping,3,<0.120.0>,#Ref<0.1.2.3>,#Port<0.7>}";
    const received = "{ping,3,<12345.120.0>,#Ref<12345.1.2.3>,#Port<12345.7>}";
    assert.equal(comparableText(sent), comparableText(received));
    assert.notEqual(comparableText('{ping,3,<0.120.0>}'), comparableText('{ping,3,<0.121.0>}'));
    assert.notEqual(comparableText('{ping,3}'), comparableText('{ping,4}'));
  });

  it('names the destination node of a send to another node, by pid or by {Name, Node}', () => {
    const here = 'a@h';
    const from = new Pid(Atom.of(here), 80, 0, 1);
    const remote = eventFrom(new Tuple([Atom.of('send'), from, new Pid(Atom.of('b@h'), 85, 0, 2), Buffer.from('hi'), 1]), here);
    assert.equal(remote.toNode, 'b@h');
    assert.equal(remote.what, '<b@h.85.0>');
    const named = eventFrom(new Tuple([Atom.of('send'), from, new Tuple([Atom.of('sink'), Atom.of('c@h')]), Buffer.from('hi'), 1]), here);
    assert.equal(named.toNode, 'c@h');
    const local = eventFrom(new Tuple([Atom.of('send'), from, new Pid(Atom.of(here), 81, 0, 1), Buffer.from('hi'), 1]), here);
    assert.equal(local.toNode, undefined);
    assert.equal(local.what, '<0.81.0>');
    const self = eventFrom(new Tuple([Atom.of('send'), from, new Tuple([Atom.of('sink'), Atom.of(here)]), Buffer.from('hi'), 1]), here);
    assert.equal(self.toNode, undefined);
  });
});
