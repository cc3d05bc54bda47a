import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { backoffDelay } from './backoff.ts';
import type { BackoffPolicy } from './backoff.ts';

const noJitter: BackoffPolicy = { initialMs: 100, maxMs: 5000, factor: 2, jitter: 0 };

describe('backoffDelay', () => {
  it('grows exponentially from the initial delay and stops at the cap', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 100, 5000].map((n) => backoffDelay(n, noJitter));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it('jitter only shortens the delay, by at most the jitter fraction', () => {
    const policy = { ...noJitter, jitter: 0.5 };
    expect(backoffDelay(3, policy, () => 0)).toBe(400);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(300);
    expect(backoffDelay(3, policy, () => 0.999999)).toBe(200);
  });

  it('stays within [cap * (1 - jitter), cap] for every attempt', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (n, r) => {
        const policy = { initialMs: 50, maxMs: 30_000, factor: 2, jitter: 0.2 };
        const ceiling = Math.min(30_000, 50 * 2 ** (n - 1));
        const delay = backoffDelay(n, policy, () => r);
        expect(delay).toBeLessThanOrEqual(Math.round(ceiling));
        expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling * 0.8));
      }),
    );
  });

  it('rejects attempts below 1', () => {
    expect(() => backoffDelay(0, noJitter)).toThrow(RangeError);
  });
});
