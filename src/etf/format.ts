import { Atom, BitBinary, Closure, ErlFloat, ErlMap, ExportFun, ImproperList, Pid, Port, Ref, Term, Tuple } from './terms';

export interface FormatOptions {
  /** The node the output is for: its own pids print as `<0.N.S>`, as that node prints them. */
  localNode?: Atom;
  /** Cut the output at about this many characters (default: no limit). */
  maxLength?: number;
}

/** Formats a term the way Erlang's `~p` would print it on `localNode`, truncated to a readable size. */
export function formatTerm(term: Term, options: FormatOptions = {}): string {
  const limit = options.maxLength ?? Infinity;
  const out: string[] = [];
  let length = 0;
  const push = (s: string): boolean => {
    out.push(s);
    length += s.length;
    return length < limit;
  };
  const walk = (t: Term): boolean => {
    if (typeof t === 'number' || typeof t === 'bigint') return push(String(t));
    if (t instanceof Atom) return push(formatAtom(t.name));
    if (t instanceof ErlFloat) return push(formatFloat(t.value));
    if (t instanceof Pid) return push(formatPid(t, options.localNode));
    if (t instanceof Port) return push(`#Port<${t.node === options.localNode ? 0 : t.node.name}.${t.id}>`);
    if (t instanceof Ref) return push(`#Ref<${t.node === options.localNode ? 0 : t.node.name}.${[...t.ids].reverse().join('.')}>`);
    if (t instanceof ExportFun) return push(`fun ${formatAtom(t.module.name)}:${formatAtom(t.fun.name)}/${t.arity}`);
    if (t instanceof Closure) return push(`#Fun<${t.module.name}>`);
    if (Buffer.isBuffer(t)) return push(formatBinary(t, limit - length));
    if (t instanceof BitBinary) return push(`<<${[...t.bytes].join(',')}:${t.bits}>>`);
    if (Array.isArray(t)) {
      if (t.length > 0 && isPrintableCharlist(t)) return push(JSON.stringify(String.fromCodePoint(...(t as number[]))));
      return seq('[', t, ']');
    }
    if (t instanceof ImproperList) {
      if (!push('[')) return false;
      for (let i = 0; i < t.elements.length; i++) {
        if (i > 0 && !push(',')) return false;
        if (!walk(t.elements[i] as Term)) return false;
      }
      return push('|') && walk(t.tail) && push(']');
    }
    if (t instanceof Tuple) return seq('{', t.elements, '}');
    if (t instanceof ErlMap) {
      if (!push('#{')) return false;
      let first = true;
      for (const [k, v] of t.entries) {
        if (!first && !push(',')) return false;
        first = false;
        if (!walk(k) || !push(' => ') || !walk(v)) return false;
      }
      return push('}');
    }
    return push('?');
  };
  const seq = (open: string, items: Term[], close: string): boolean => {
    if (!push(open)) return false;
    for (let i = 0; i < items.length; i++) {
      if (i > 0 && !push(',')) return false;
      if (!walk(items[i] as Term)) return false;
    }
    return push(close);
  };
  const complete = walk(term);
  const text = out.join('');
  return complete ? text : text.slice(0, Math.max(0, limit)) + '…';
}

export function formatPid(pid: Pid, localNode?: Atom): string {
  return `<${pid.node === localNode ? 0 : pid.node.name}.${pid.id}.${pid.serial}>`;
}

export function formatAtom(name: string): string {
  return /^[a-z][a-zA-Z0-9_@]*$/.test(name) ? name : `'${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Elixir module atoms (`Elixir.MyApp.Worker`) shown as Elixir writes them. */
export function formatModule(name: string): string {
  return name.startsWith('Elixir.') ? name.slice('Elixir.'.length) : name;
}

function formatFloat(v: number): string {
  const s = String(v);
  return /[.eE]/.test(s) ? s.replace(/e\+?/, 'e') : `${s}.0`;
}

function formatBinary(b: Buffer, room: number): string {
  const shown = b.subarray(0, Math.max(0, Math.min(b.length, Math.floor(room))));
  const text = shown.toString('utf8');
  const printable = /^[\x20-\x7e\t\n\r]*$/.test(text) && Buffer.byteLength(text) === shown.length;
  const more = shown.length < b.length ? `...(${b.length} bytes)` : '';
  if (printable) return `<<${JSON.stringify(text)}${more}>>`;
  return `<<${[...shown.subarray(0, 64)].join(',')}${shown.length > 64 || more ? `,...(${b.length} bytes)` : ''}>>`;
}

function isPrintableCharlist(items: Term[]): boolean {
  return items.every((c) => typeof c === 'number' && ((c >= 32 && c < 127) || c === 10 || c === 9));
}
