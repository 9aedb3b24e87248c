/**
 * Coalesces many small requests into one call, group-commit style: while a flush is
 * running, new items wait and then go out together in the next flush (more flushes in
 * flight measured no faster: docs/worker.md, "Throughput"). At
 * low load an item is flushed on the next tick (plus `windowMs`, when set); under load
 * batches grow by themselves to what arrives during one flush. Every caller gets its own
 * item's answer. The status writer uses it so that N jobs finishing at the same moment
 * cost one UPDATE, not N.
 *
 * One bad item must not take its batch down: when a flush fails with an error that
 * `isolate` accepts (one that may be a single item's fault, not the connection's), the
 * batch is split in halves and each half flushed again, down to single items, so only the
 * item at fault gets the error and every other item its own answer (a batch of n with one
 * bad item costs about 2·log2(n) + 1 flushes instead of 1). The flush must be safe to run
 * again for items of a failed call — true of one SQL statement, which failed as a whole.
 */

interface Pending<I, R> {
  item: I;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export interface BatcherOptions {
  /** Extra wait before a flush, to gather more items (0: next tick). */
  windowMs: number;
  /** Largest batch (default 500). */
  maxBatch?: number;
  onBatch?: (size: number) => void;
  /** Whether a failed flush of several items is split to find the item at fault (default: never). */
  isolate?: (error: unknown) => boolean;
  /** Called when a failed flush of `size` items is split. */
  onSplit?: (error: unknown, size: number) => void;
}

/**
 * A batcher over `flush`, which receives the items and returns one result per item, in
 * order.
 *
 * @example
 * const lookup = new Batcher<string, number>((ids) => Promise.resolve(ids.map((id) => id.length)), { windowMs: 0 });
 * await Promise.all([lookup.submit('a'), lookup.submit('bb')]); // one flush: [1, 2]
 */
export class Batcher<I, R> {
  private pending: Pending<I, R>[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly flush: (items: I[]) => Promise<R[]>,
    private readonly options: BatcherOptions,
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
    while (this.pending.length > 0 || this.inFlight || this.scheduled) {
      await this.inFlight?.catch(() => undefined);
      if (this.pending.length > 0 || this.scheduled) await new Promise((resolve) => setTimeout(resolve, this.options.windowMs + 1));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    if (this.options.windowMs > 0) setTimeout(() => this.run(), this.options.windowMs);
    else setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    const maxBatch = this.options.maxBatch ?? 500;
    if (this.pending.length === 0 || this.inFlight) return;
    const batch = this.pending.splice(0, maxBatch);
    this.options.onBatch?.(batch.length);
    this.inFlight = this.flushIsolating(batch).finally(() => {
      this.inFlight = undefined;
      if (this.pending.length > 0) this.schedule();
    });
  }

  private async flushIsolating(batch: Pending<I, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await this.flush(batch.map((entry) => entry.item));
    } catch (error) {
      if (batch.length === 1 || !this.options.isolate?.(error)) {
        batch.forEach((entry) => entry.reject(error));
        return;
      }
      this.options.onSplit?.(error, batch.length);
      const middle = Math.ceil(batch.length / 2);
      await this.flushIsolating(batch.slice(0, middle));
      await this.flushIsolating(batch.slice(middle));
      return;
    }
    batch.forEach((entry, index) => entry.resolve(results[index] as R));
  }
}
