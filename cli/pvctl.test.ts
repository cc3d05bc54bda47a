import { describe, expect, it } from '@jest/globals';
import { UsageError } from './output.ts';
import { INTERNAL_ERROR_EXIT, reportError } from './pvctl.ts';

describe('pvctl errors', () => {
  const report = (e: unknown, debug = false) => {
    const lines: string[] = [];
    return { code: reportError(e, (l) => lines.push(l), debug), lines };
  };

  it('prints a usage or input error as one line, exit 1', () => {
    expect(report(new UsageError('no Repository named x'))).toEqual({
      code: 1,
      lines: ['pvctl: no Repository named x'],
    });
    expect(report(new Error('repository not reachable'))).toEqual({
      code: 1,
      lines: ['pvctl: repository not reachable'],
    });
  });

  it('tells a bug from bad input: exit 70, and the stack only when asked', () => {
    const bug = (() => {
      try {
        (42 as unknown as { metadata: object }).metadata.toString();
      } catch (e) {
        return e;
      }
    })();
    const quiet = report(bug);
    expect(quiet.code).toBe(INTERNAL_ERROR_EXIT);
    expect(quiet.lines).toEqual([
      expect.stringMatching(/^pvctl: internal error: .* \(a bug: please report it; PVCTL_DEBUG=1 prints where\)$/),
    ]);
    expect(report(bug, true).lines[1]).toMatch(/\n\s+at /);
  });
});
