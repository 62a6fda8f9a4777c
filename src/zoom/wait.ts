/**
 * Waits for `promise`, but no longer than `signal` allows nor `ms` when given: then it rejects
 * with `fail()` (or the signal's reason). The promise itself goes on; only this caller stops waiting.
 */
export function waitAtMost<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  ms?: number,
  fail?: () => Error,
): Promise<T> {
  if (!signal && ms === undefined) return promise;
  return new Promise((resolve, reject) => {
    const giveUp = () => {
      stop();
      reject(fail ? fail() : signal?.reason);
    };
    const timer = ms === undefined ? undefined : setTimeout(giveUp, ms);
    const stop = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', giveUp);
    };
    if (signal?.aborted) return giveUp();
    signal?.addEventListener('abort', giveUp, { once: true });
    promise.then(
      (value) => {
        stop();
        resolve(value);
      },
      (err: unknown) => {
        stop();
        reject(err);
      },
    );
  });
}
