/**
 * In-process single flight: concurrent calls with the same key share one execution.
 */

/**
 * Creates a single-flight group. While a call for `key` is running, later calls for the
 * same key get its promise instead of starting their own; once it settles the key is free.
 *
 * @example
 * const flight = createSingleFlight<string>();
 * const [a, b] = await Promise.all([flight('k', load), flight('k', load)]); // load runs once
 */
export function createSingleFlight<T>(): (key: string, fn: () => Promise<T>) => Promise<T> {
  const inFlight = new Map<string, Promise<T>>();
  return (key, fn) => {
    const running = inFlight.get(key);
    if (running) return running;
    const started = (async () => {
      try {
        return await fn();
      } finally {
        inFlight.delete(key);
      }
    })();
    inFlight.set(key, started);
    return started;
  };
}
