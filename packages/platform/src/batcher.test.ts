import { describe, expect, it } from 'vitest';
import { createBatcher, type Settled } from './batcher.js';

describe('createBatcher', () => {
  it('sends the calls of one event-loop turn together and answers each in order', async () => {
    const sent: number[][] = [];
    const double = createBatcher<number, number>((items) => {
      sent.push(items);
      return Promise.resolve(
        items.map((i): Settled<number> => (i === 3 ? { ok: false, error: new Error('three') } : { ok: true, value: i * 2 })),
      );
    }, 4);
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((i) => double(i)));
    expect(sent).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      2,
      4,
      'three',
      8,
      10,
      12,
    ]);
    await expect(double(7)).resolves.toBe(14);
    expect(sent.at(-1)).toEqual([7]);
  });

  it('fails every call of a batch whose send fails', async () => {
    const call = createBatcher<number, number>(() => Promise.reject(new Error('unreachable')));
    const results = await Promise.allSettled([call(1), call(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
