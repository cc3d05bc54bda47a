import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leaderElectionFrom, managerOptionsFrom, parseBindAddress, parseDuration, type RunOptions } from './run.ts';

describe('pvctl run flags', () => {
  it('parses durations', () => {
    expect(parseDuration('1m')).toBe(60_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    for (const bad of ['', '10', 'm', '1m junk', '-1s']) expect(() => parseDuration(bad)).toThrow(/invalid duration/);
  });

  it('parses bind addresses', () => {
    expect(parseBindAddress(':8081', 'x')).toEqual({ port: 8081 });
    expect(parseBindAddress('127.0.0.1:0', 'x')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseBindAddress('[::1]:9000', 'x')).toEqual({ host: '::1', port: 9000 });
    expect(parseBindAddress('0', 'x')).toBeUndefined();
    expect(() => parseBindAddress('8081', '--flag')).toThrow(/--flag: invalid address/);
    expect(() => parseBindAddress(':99999', '--flag')).toThrow(/invalid address/);
  });

  it('serves the webhook only with a secret, and checks the concurrency', () => {
    const base: RunOptions = {
      concurrency: '8',
      setConcurrency: '2',
      pollInterval: '1m',
      healthProbeBindAddress: ':8081',
      metricsBindAddress: ':8080',
      webhookBindAddress: ':8082',
      logLevel: 'info',
    };
    const saved = process.env.PVC_WEBHOOK_SECRET;
    delete process.env.PVC_WEBHOOK_SECRET;
    try {
      expect(managerOptionsFrom(base)).toEqual({
        shutdownTimeoutMs: 30_000,
        concurrency: 8,
        setConcurrency: 2,
        pollIntervalMs: 60_000,
        probeAddress: { port: 8081 },
        metricsAddress: { port: 8080 },
      });
      expect(managerOptionsFrom({ ...base, metricsBindAddress: '0' })).not.toHaveProperty('metricsAddress');
      expect(() => managerOptionsFrom({ ...base, metricsBindAddress: 'x' })).toThrow(/--metrics-bind-address/);
      process.env.PVC_WEBHOOK_SECRET = 's3cret';
      expect(managerOptionsFrom(base)).toMatchObject({ webhookAddress: { port: 8082 }, webhookSecret: 's3cret' });
      expect(() => managerOptionsFrom({ ...base, concurrency: '0' })).toThrow(/--concurrency/);
      expect(managerOptionsFrom({ ...base, threads: '2' })).toMatchObject({ threads: 2 });
      expect(managerOptionsFrom({ ...base, threads: '0' })).toMatchObject({ threads: 0 });
      for (const bad of ['-1', '1.5', 'two', '', '65'])
        expect(() => managerOptionsFrom({ ...base, threads: bad })).toThrow(
          /--threads must be an integer from 0 to 64/,
        );
      expect(() => managerOptionsFrom({ ...base, setConcurrency: 'x' })).toThrow(
        /--set-concurrency must be a positive integer/,
      );
    } finally {
      if (saved === undefined) delete process.env.PVC_WEBHOOK_SECRET;
      else process.env.PVC_WEBHOOK_SECRET = saved;
    }
  });

  describe('leader election and shutdown flags', () => {
    const base: RunOptions = {
      concurrency: '8',
      setConcurrency: '2',
      pollInterval: '1m',
      healthProbeBindAddress: '0',
      metricsBindAddress: '0',
      webhookBindAddress: '0',
      logLevel: 'info',
    };
    const noFile = join(tmpdir(), 'no-such-namespace-file');

    it('is off unless --leader-elect is given', () => {
      expect(leaderElectionFrom(base, noFile)).toBeUndefined();
      expect(leaderElectionFrom({ ...base, leaderElect: false }, noFile)).toBeUndefined();
    });

    it("uses controller-runtime's defaults and the pod's namespace file", () => {
      const dir = mkdtempSync(join(tmpdir(), 'pvctl-run-'));
      try {
        const file = join(dir, 'namespace');
        writeFileSync(file, 'packagevariant-system\n');
        expect(leaderElectionFrom({ ...base, leaderElect: true }, file)).toEqual({
          namespace: 'packagevariant-system',
          name: 'packagevariant-controller',
          timing: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
        });
        expect(leaderElectionFrom({ ...base, leaderElect: true, leaderElectionNamespace: 'ops' }, file)).toMatchObject({
          namespace: 'ops',
        });
      } finally {
        rmSync(dir, { recursive: true });
      }
    });

    it('needs a namespace outside a cluster and checks the durations', () => {
      expect(() => leaderElectionFrom({ ...base, leaderElect: true }, noFile)).toThrow(/--leader-election-namespace/);
      const elect = { ...base, leaderElect: true, leaderElectionNamespace: 'ns' };
      expect(
        leaderElectionFrom(
          {
            ...elect,
            leaderElectionId: 'pv',
            leaderElectionLeaseDuration: '4s',
            leaderElectionRenewDeadline: '3s',
            leaderElectionRetryPeriod: '500ms',
          },
          noFile,
        ),
      ).toEqual({
        namespace: 'ns',
        name: 'pv',
        timing: { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 },
      });
      expect(() => leaderElectionFrom({ ...elect, leaderElectionRenewDeadline: '20s' }, noFile)).toThrow(
        /lease duration must be greater/,
      );
      expect(() => leaderElectionFrom({ ...elect, leaderElectionRetryPeriod: '9s' }, noFile)).toThrow(/1.2/);
      expect(managerOptionsFrom({ ...base, gracefulShutdownTimeout: '5s' }).shutdownTimeoutMs).toBe(5_000);
    });
  });
});
