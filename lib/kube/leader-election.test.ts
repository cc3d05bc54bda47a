import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_TIMING,
  ObservedLease,
  recordOf,
  takeover,
  validateTiming,
  type LeaderRecord,
} from './leader-election.ts';

const HOUR = 3_600_000;
const record = (holderIdentity: string, renewTime: string, extra: Partial<LeaderRecord> = {}): LeaderRecord => ({
  holderIdentity,
  leaseDurationSeconds: 15,
  renewTime,
  leaseTransitions: 3,
  ...extra,
});
const wire = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

describe('leader election timing', () => {
  it('accepts the defaults and enforces leaseDuration > renewDeadline > 1.2 × retryPeriod', () => {
    expect(() => validateTiming(DEFAULT_TIMING)).not.toThrow();
    expect(() => validateTiming({ ...DEFAULT_TIMING, renewDeadlineMs: 15_000 })).toThrow(/greater than the renew/);
    expect(() => validateTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 2_400, retryPeriodMs: 2_000 })).toThrow(
      /1.2/,
    );
    expect(() =>
      validateTiming({ leaseDurationMs: 4_000, renewDeadlineMs: 2_500, retryPeriodMs: 2_000 }),
    ).not.toThrow();
    expect(() => validateTiming({ leaseDurationMs: 4_500, renewDeadlineMs: 2_500, retryPeriodMs: 2_000 })).toThrow(
      /whole seconds/,
    );
  });
});

describe('lease expiry on our own clock (clock-skew tolerant)', () => {
  it('a lease whose renewTime is an hour old by our wall clock is still valid for leaseDuration after we saw it', () => {
    const observed = new ObservedLease();
    observed.observe(record('other', wire(Date.now() - HOUR)), 1_000);
    expect(observed.isValid(1_000)).toBe(true);
    expect(observed.isValid(15_999)).toBe(true);
    expect(observed.isValid(16_000)).toBe(false);
    expect(takeover(observed, 'me', 10_000)).toBeUndefined();
  });

  it('a holder whose clock runs an hour ahead still expires leaseDuration after its last change', () => {
    const observed = new ObservedLease();
    observed.observe(record('other', wire(Date.now() + HOUR)), 0);
    // Seeing the same record again does not restart the expiry clock...
    observed.observe(record('other', wire(Date.now() + HOUR)), 0);
    const same = record('other', observed.record!.renewTime!);
    observed.observe(same, 14_000);
    expect(observed.observedAt).toBe(0);
    expect(observed.isValid(15_000)).toBe(false);
    expect(takeover(observed, 'me', 15_000)).toEqual({ keepAcquireTime: false, leaseTransitions: 4 });
  });

  it('every renewal (a changed record) restarts the expiry clock', () => {
    const observed = new ObservedLease();
    observed.observe(record('other', wire(0)), 0);
    observed.observe(record('other', wire(2_000)), 12_000);
    expect(observed.observedAt).toBe(12_000);
    expect(observed.isValid(26_000)).toBe(true);
    expect(takeover(observed, 'me', 26_000)).toBeUndefined();
    expect(observed.isValid(27_000)).toBe(false);
  });

  it('honours the leaseDurationSeconds written in the record', () => {
    const observed = new ObservedLease();
    observed.observe(record('other', wire(0), { leaseDurationSeconds: 60 }), 0);
    expect(observed.isValid(59_999)).toBe(true);
    expect(observed.isValid(60_000)).toBe(false);
  });
});

describe('takeover', () => {
  it('takes a released lease (empty holder) at once, counting a transition', () => {
    const observed = new ObservedLease();
    observed.observe(record('', wire(0), { leaseDurationSeconds: 1 }), 0);
    expect(takeover(observed, 'me', 0)).toEqual({ keepAcquireTime: false, leaseTransitions: 4 });
  });

  it('keeps the acquire time and transition count when we already hold the lease', () => {
    const observed = new ObservedLease();
    observed.observe(record('me', wire(0)), 0);
    expect(takeover(observed, 'me', 100_000)).toEqual({ keepAcquireTime: true, leaseTransitions: 3 });
  });

  it('starts at zero transitions when no lease was seen', () => {
    expect(takeover(new ObservedLease(), 'me', 0)).toEqual({ keepAcquireTime: false, leaseTransitions: 0 });
  });
});

describe('recordOf', () => {
  it('reads the MicroTime strings the API server sends and fills absent fields', () => {
    expect(
      recordOf({
        spec: {
          holderIdentity: 'a',
          renewTime: '2026-01-02T03:04:05.678901Z' as unknown as Date,
          leaseDurationSeconds: 15,
        },
      }),
    ).toEqual({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      renewTime: '2026-01-02T03:04:05.678901Z',
      leaseTransitions: 0,
    });
    expect(recordOf({})).toEqual({ holderIdentity: '', leaseDurationSeconds: 0, leaseTransitions: 0 });
  });
});
