/**
 * Collects the JSON payloads of one NOTIFY channel (postgres.js `sql.listen`) so a test
 * can wait for a notification and look at what arrived before it.
 */
import type { Sql } from '../harness/db.ts';

export class Inbox<T> {
  private readonly messages: T[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor() {}

  /**
   * Starts listening on `channel`; resolves once the LISTEN is in place.
   *
   * @example
   * const jobs = await Inbox.listen<{ op: string; id: string }>(sql, 'tandem_jobs');
   */
  static async listen<T>(sql: Sql, channel: string): Promise<Inbox<T>> {
    const inbox = new Inbox<T>();
    await sql.listen(channel, (payload) => {
      inbox.messages.push(JSON.parse(payload) as T);
      for (const wake of inbox.waiters) wake();
    });
    return inbox;
  }

  /** Number of notifications received so far. */
  get size(): number {
    return this.messages.length;
  }

  /** Every notification received so far, oldest first. */
  all(): T[] {
    return [...this.messages];
  }

  /** The notifications in [start, end). */
  slice(start: number, end?: number): T[] {
    return this.messages.slice(start, end);
  }

  /**
   * Index of the first notification at or after `from` that matches; waits for it (up to
   * `timeoutMs`, then throws).
   *
   * @example
   * const at = await inbox.waitFor((m) => m.id === jobId);
   */
  async waitFor(match: (message: T) => boolean, from = 0, timeoutMs = 10_000): Promise<number> {
    const find = () => this.messages.findIndex((message, index) => index >= from && match(message));
    let index = find();
    if (index >= 0) return index;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching notification within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        index = find();
        if (index < 0) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(index);
      };
      this.waiters.add(check);
    });
  }
}
