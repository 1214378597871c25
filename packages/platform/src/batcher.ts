/** The outcome of one item of a batch call. */
export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

/**
 * Coalesces calls made during one turn of the event loop into batch calls of at most `maxSize`
 * items (the DataLoader pattern, without caching). `send` answers every item in order; if `send`
 * itself fails, every item of that batch fails with its error.
 */
export function createBatcher<I, O>(send: (items: I[]) => Promise<Settled<O>[]>, maxSize = 64): (item: I) => Promise<O> {
  let pending: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];

  const flush = () => {
    const all = pending;
    pending = [];
    for (let i = 0; i < all.length; i += maxSize) {
      const chunk = all.slice(i, i + maxSize);
      send(chunk.map((c) => c.item)).then(
        (results) =>
          chunk.forEach((c, j) => {
            const r = results[j];
            if (!r) c.reject(new Error('batch answer is missing an item'));
            else if (r.ok) c.resolve(r.value);
            else c.reject(r.error);
          }),
        (error: unknown) => chunk.forEach((c) => c.reject(error)),
      );
    }
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      if (pending.length === 0) setImmediate(flush);
      pending.push({ item, resolve, reject });
    });
}
