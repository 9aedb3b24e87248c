/**
 * Coalesces many small requests into one call: items submitted within `windowMs` (or the
 * same tick when 0) are flushed together, at most `maxBatch` at a time, and every caller
 * gets its own item's answer. The status writer uses it so that N jobs finishing at the
 * same moment cost one UPDATE, not N.
 */

interface Pending<I, R> {
  item: I;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

/**
 * A batcher over `flush`, which receives the items and returns one result per item, in
 * order.
 *
 * @example
 * const lookup = new Batcher<string, number>((ids) => Promise.resolve(ids.map((id) => id.length)), { windowMs: 2 });
 * await Promise.all([lookup.submit('a'), lookup.submit('bb')]); // one flush: [1, 2]
 */
export class Batcher<I, R> {
  private pending: Pending<I, R>[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly flush: (items: I[]) => Promise<R[]>,
    private readonly options: { windowMs: number; maxBatch?: number; onBatch?: (size: number) => void },
  ) {}

  /** Adds an item to the next batch and resolves with its result. */
  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once every submitted item has been flushed. */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.inFlight.size > 0) {
      if (this.pending.length > 0 && !this.scheduled) this.run();
      await Promise.allSettled([...this.inFlight]);
      if (this.pending.length > 0) await new Promise((resolve) => setTimeout(resolve, this.options.windowMs));
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.options.windowMs > 0) setTimeout(() => this.run(), this.options.windowMs);
    else setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    const maxBatch = this.options.maxBatch ?? 500;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, maxBatch);
      this.options.onBatch?.(batch.length);
      const flushing = this.flush(batch.map((entry) => entry.item)).then(
        (results) => batch.forEach((entry, index) => entry.resolve(results[index] as R)),
        (error: unknown) => batch.forEach((entry) => entry.reject(error)),
      );
      this.inFlight.add(flushing);
      void flushing.finally(() => this.inFlight.delete(flushing));
    }
  }
}
