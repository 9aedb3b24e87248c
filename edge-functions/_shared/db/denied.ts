/**
 * RLS turns both "you cannot see this row" and "you may not change it" into "0 rows".
 * The contract tells them apart (404 vs 403) by reading the row again under the same RLS
 * context: visible means the write was refused.
 */
import { ApiError } from '../http/errors.ts';

/**
 * Throws 403 when the row is visible (`visible` returned rows) and 404 when it is not.
 *
 * @example
 * if (updated.length === 0) {
 *   await explainNoRows(tx`select 1 from public.projects where id = ${id}`, 'project', 'edit');
 * }
 */
export async function explainNoRows(visible: PromiseLike<readonly unknown[]>, what: string, action: string): Promise<never> {
  const rows = await visible;
  if (rows.length > 0) throw new ApiError('forbidden', `you may not ${action} this ${what}`);
  throw new ApiError('not_found', `${what} not found`);
}
