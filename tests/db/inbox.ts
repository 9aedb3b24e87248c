/**
 * Collects the JSON payloads of one NOTIFY channel (postgres.js `sql.listen`) so a test
 * can ask what a step announced and look at what arrived before it.
 *
 * Asking never waits for a notification that may not come. Postgres delivers the
 * notifications of one channel in commit order, so after a step has committed the inbox
 * sends a fence of its own (`pg_notify` in a later transaction) and waits for that: the
 * fence arrives promptly whatever the step did, and whatever the step announced arrived
 * before it. A missing notification fails at once, not after a timeout.
 */
import { randomUUID } from 'node:crypto';
import type { Sql } from '../harness/db.ts';

/** How long a fence may take (only a broken LISTEN connection makes it late). */
const FENCE_TIMEOUT_MS = 5_000;

export class Inbox<T> {
  private readonly messages: T[] = [];
  /** Fence id → number of messages received before it. */
  private readonly fences = new Map<string, number>();
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly sql: Sql,
    private readonly channel: string,
  ) {}

  /**
   * Starts listening on `channel`; resolves once the LISTEN is in place.
   *
   * @example
   * const jobs = await Inbox.listen<{ op: string; id: string }>(sql, 'tandem_jobs');
   */
  static async listen<T>(sql: Sql, channel: string): Promise<Inbox<T>> {
    const inbox = new Inbox<T>(sql, channel);
    await sql.listen(channel, (payload) => {
      const value = JSON.parse(payload) as T & { fence?: unknown };
      if (typeof value.fence === 'string' && value.fence.startsWith('inbox-')) inbox.fences.set(value.fence, inbox.messages.length);
      else inbox.messages.push(value);
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
   * Sends a fence and resolves, once it arrived, with the number of notifications received
   * before it: everything committed before this call is among them. The fence's payload
   * (`{"fence", "ids": [], "user_ids": []}`) is one every listener of Tandem's channels ignores.
   *
   * @example
   * await step();
   * const end = await inbox.fence();
   * const announced = inbox.slice(start, end);
   */
  async fence(): Promise<number> {
    const id = `inbox-${randomUUID()}`;
    const arrived = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`the fence on ${this.channel} did not come back within ${FENCE_TIMEOUT_MS} ms (is the LISTEN connection alive?)`));
      }, FENCE_TIMEOUT_MS);
      const check = () => {
        const count = this.fences.get(id);
        if (count === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        this.fences.delete(id);
        resolve(count);
      };
      this.waiters.add(check);
    });
    await this.sql`select pg_notify(${this.channel}, ${JSON.stringify({ fence: id, ids: [], user_ids: [] })})`;
    return arrived;
  }

  /**
   * Index of the first notification at or after `from` that matches, among those that
   * arrived before a fence sent now; throws at once when there is none (the step, already
   * committed, announced nothing that matches).
   *
   * @example
   * const at = await inbox.expectMessage((m) => m.id === jobId);
   */
  async expectMessage(match: (message: T) => boolean, from = 0): Promise<number> {
    const end = await this.fence();
    const index = this.messages.findIndex((message, position) => position >= from && position < end && match(message));
    if (index < 0) {
      const seen = this.messages.slice(from, end).slice(-5).map((message) => JSON.stringify(message).slice(0, 200));
      throw new Error(`no matching notification on ${this.channel} before the fence; the last ones were: ${seen.join(' | ') || '(none)'}`);
    }
    return index;
  }
}
