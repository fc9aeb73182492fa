// The part of @xmpp/client (which ships no types) the real-system tests use.
declare module '@xmpp/client' {
  export interface Jid {
    toString(): string;
  }
  export interface Element {
    is(name: string): boolean;
  }
  export interface XmppClient {
    on(event: 'error', listener: (err: Error) => void): XmppClient;
    on(event: 'stanza', listener: (stanza: Element) => void): XmppClient;
    start(): Promise<Jid>;
    stop(): Promise<void>;
    send(element: Element): Promise<void>;
  }
  export function client(options: { service: string; domain: string; username?: string; password?: string }): XmppClient;
  export function xml(name: string, attrs?: Record<string, string>, ...children: Array<Element | string>): Element;
}
