// A value shared by every component that uses it, kept while anyone subscribes, released a moment
// after the last one leaves. "A moment": StrictMode (and fast remounts) unsubscribe and subscribe
// again in one go, and that must neither close nor reopen anything.

/** A value with listeners, as `useSyncExternalStore` reads it. */
export class Shared<T> {
  private listeners = new Set<() => void>();
  private releaseTimer: ReturnType<typeof setTimeout> | undefined;
  private stop: (() => void) | undefined;

  constructor(
    public snapshot: T,
    /** Starts the value's upkeep (opening, subscribing); returns how to stop it. */
    private readonly start: (shared: Shared<T>) => () => void,
    /** Called once the value is released, after `stop`. */
    private readonly onRelease: () => void = () => {},
  ) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    this.stop ??= this.start(this);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.releaseTimer === undefined) {
        this.releaseTimer = setTimeout(() => {
          this.releaseTimer = undefined;
          if (this.listeners.size > 0) return;
          const stop = this.stop;
          this.stop = undefined;
          stop?.();
          this.onRelease();
        }, 0);
      }
    };
  };

  readonly getSnapshot = (): T => this.snapshot;

  set(snapshot: T): void {
    if (Object.is(snapshot, this.snapshot)) return;
    this.snapshot = snapshot;
    for (const listener of [...this.listeners]) listener();
  }
}

/** `Shared` values by key, each created on first use and forgotten once released. */
export class SharedMap<K, T> {
  private entries = new Map<K, Shared<T>>();

  constructor(private readonly create: (key: K, forget: () => void) => Shared<T>) {}

  get(key: K): Shared<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      const created = this.create(key, () => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
      entry = created;
      this.entries.set(key, entry);
    }
    return entry;
  }
}
