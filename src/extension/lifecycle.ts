// Ownership of resources in the extension (no 'vscode' import, so it is unit-tested with fakes):
// a Disposable base whose _register adopts a resource (one registered after disposal is disposed
// at once, as in VS Code's markdown extension), disposeAll that disposes everything and reports
// every failure, a small event emitter, and timers that are disposables.

export interface IDisposable {
  dispose(): unknown;
}

/** Disposes every item (last registered first); failures are collected, not lost. */
export function disposeAll(items: IDisposable[]): void {
  const errors: unknown[] = [];
  for (const d of items.splice(0).reverse()) {
    try {
      d.dispose();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} resources failed to dispose`);
}

export abstract class Disposable implements IDisposable {
  private disposed = false;
  private readonly owned: IDisposable[] = [];

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeAll(this.owned);
  }

  /** Adopts `value`: disposed with this owner, or at once when the owner is already disposed. */
  protected _register<T extends IDisposable>(value: T): T {
    if (this.disposed) value.dispose();
    else this.owned.push(value);
    return value;
  }

  /** Forgets `value` without disposing it (it was disposed by someone else, e.g. a closed panel). */
  protected _unregister(value: IDisposable): void {
    const i = this.owned.indexOf(value);
    if (i >= 0) this.owned.splice(i, 1);
  }

  /** How many resources this owner holds (for tests and for the log). */
  protected get ownedCount(): number {
    return this.owned.length;
  }
}

export type Listener<T> = (value: T) => unknown;
export type Event<T> = (listener: Listener<T>) => IDisposable;

/** A minimal event emitter; listeners that throw do not stop the others. */
export class Emitter<T> implements IDisposable {
  private listeners = new Set<Listener<T>>();
  private disposed = false;

  readonly event: Event<T> = (listener) => {
    if (this.disposed) return { dispose: () => undefined };
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(value);
      } catch {
        // one listener's failure is not the emitter's
      }
    }
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  dispose(): void {
    this.disposed = true;
    this.listeners.clear();
  }
}

/** Timers behind an interface, so tests can count what is left pending. */
export interface Clock {
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Runs `tick` after `delayMs()` again and again (never two at once) until disposed; the delay is
 * asked after each tick so it can back off. A tick's failure is passed to `onError`.
 */
export class RepeatingTimer implements IDisposable {
  private handle: unknown = null;
  private stopped = false;
  private running: Promise<void> | null = null;

  constructor(
    private readonly tick: () => Promise<void>,
    private readonly delayMs: () => number,
    private readonly clock: Clock = realClock,
    private readonly onError: (err: unknown) => void = () => undefined,
    firstDelayMs?: number,
  ) {
    this.schedule(firstDelayMs ?? delayMs());
  }

  get pending(): boolean {
    return this.handle !== null;
  }

  /** Runs the tick now (unless one is running) and reschedules. */
  async now(): Promise<void> {
    if (this.stopped) return;
    if (this.running) return this.running;
    if (this.handle !== null) this.clock.clearTimeout(this.handle);
    this.handle = null;
    this.running = (async () => {
      try {
        await this.tick();
      } catch (err) {
        this.onError(err);
      } finally {
        this.running = null;
        if (!this.stopped) this.schedule(this.delayMs());
      }
    })();
    return this.running;
  }

  private schedule(ms: number): void {
    this.handle = this.clock.setTimeout(() => {
      this.handle = null;
      void this.now();
    }, ms);
  }

  dispose(): void {
    this.stopped = true;
    if (this.handle !== null) this.clock.clearTimeout(this.handle);
    this.handle = null;
  }
}
