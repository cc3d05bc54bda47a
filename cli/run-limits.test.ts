// The limit flags of `pvctl run`: parsed into the Manager's options, absent unless given.
import { describe, expect, it } from '@jest/globals';
import { Command } from 'commander';
import { managerOptionsFrom, registerRun, type RunOptions } from './commands/run.ts';
import { runLimitsFrom } from './run-limits.ts';

const base: RunOptions = {
  concurrency: '8',
  setConcurrency: '2',
  pollInterval: '1m',
  healthProbeBindAddress: ':8081',
  metricsBindAddress: ':8080',
  webhookBindAddress: ':8082',
  logLevel: 'info',
};

describe('pvctl run limit flags', () => {
  it('keeps the defaults unless a flag is given', () => {
    expect(runLimitsFrom({})).toEqual({});
    expect(managerOptionsFrom(base)).not.toHaveProperty('celLimits');
    expect(managerOptionsFrom(base)).not.toHaveProperty('webhookLimits');
  });

  it('passes the CEL and webhook limits to the Manager', () => {
    expect(
      managerOptionsFrom({
        ...base,
        celCostLimit: '50000',
        celTimeLimit: '25ms',
        webhookMaxBodyBytes: '4194304',
        webhookMaxConnections: '64',
        webhookRequestTimeout: '5s',
      }),
    ).toMatchObject({
      celLimits: { costLimit: 50_000, timeLimitMs: 25 },
      webhookLimits: { maxBodyBytes: 4_194_304, maxConnections: 64, requestTimeoutMs: 5_000, headersTimeoutMs: 5_000 },
    });
    // One CEL flag: the other limit keeps its default.
    expect(runLimitsFrom({ celTimeLimit: '1s' })).toEqual({ celLimits: { costLimit: 1_000, timeLimitMs: 1_000 } });
    // The headers get at most 10 s of a longer request timeout.
    expect(runLimitsFrom({ webhookRequestTimeout: '2m' })).toEqual({
      webhookLimits: { requestTimeoutMs: 120_000, headersTimeoutMs: 10_000 },
    });
  });

  it('refuses values that are not limits', () => {
    expect(() => runLimitsFrom({ celCostLimit: '0' })).toThrow('--cel-cost-limit must be a positive integer, not 0');
    expect(() => runLimitsFrom({ webhookMaxConnections: '1e3' })).toThrow(/--webhook-max-connections/);
    expect(() => runLimitsFrom({ celTimeLimit: 'soon' })).toThrow(/invalid duration/);
    expect(() => runLimitsFrom({ webhookRequestTimeout: '0s' })).toThrow(/--webhook-request-timeout must be longer/);
  });

  it('are options of `pvctl run`', () => {
    const program = new Command();
    registerRun(program);
    const flags = program.commands.find((c) => c.name() === 'run')!.options.map((o) => o.long);
    expect(flags).toEqual(
      expect.arrayContaining([
        '--cel-cost-limit',
        '--cel-time-limit',
        '--webhook-max-body-bytes',
        '--webhook-max-connections',
        '--webhook-request-timeout',
      ]),
    );
  });
});
