import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { formatMicroTime, microTime, parseMicroTime } from './time.ts';

describe('MicroTime', () => {
  it('formats with exactly six fractional digits', () => {
    expect(formatMicroTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('2026-01-02T03:04:05.678000Z');
    expect(formatMicroTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 0)))).toBe('2026-01-02T03:04:05.000000Z');
  });

  it('serializes a value made with microTime() in the wire form', () => {
    const when = Date.UTC(2026, 10, 21, 10, 0, 0, 5);
    const spec = { holderIdentity: 'me', renewTime: microTime(when), acquireTime: microTime(new Date(when)) };
    expect(JSON.parse(JSON.stringify(spec))).toMatchObject({
      renewTime: '2026-11-21T10:00:00.005000Z',
      acquireTime: '2026-11-21T10:00:00.005000Z',
    });
  });

  it('parses what the API server returns, with or without fractions and offsets', () => {
    expect(parseMicroTime('2026-01-02T03:04:05.678901Z').toISOString()).toBe('2026-01-02T03:04:05.678Z');
    expect(parseMicroTime('2026-01-02T03:04:05Z').toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(parseMicroTime('2026-01-02T05:04:05.1+02:00').toISOString()).toBe('2026-01-02T03:04:05.100Z');
    expect(() => parseMicroTime('yesterday')).toThrow(/not a Kubernetes MicroTime/);
  });

  it('round-trips any millisecond instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 253402300799999 }), (ms) => {
        const text = formatMicroTime(ms);
        expect(text).toMatch(/\.\d{6}Z$/);
        expect(parseMicroTime(text).getTime()).toBe(ms);
      }),
    );
  });
});
