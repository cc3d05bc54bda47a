// The function-runtime flags shared by pvctl render, reconcile and run.
import { describe, expect, it } from '@jest/globals';
import { UsageError } from './output.ts';
import { renderOptionsFrom } from './render-options.ts';

describe('renderOptionsFrom', () => {
  it('defaults: no executables, no container runtime, 60 s per function', () => {
    expect(renderOptionsFrom({})).toEqual({ allowExec: [], timeoutMs: 60_000 });
  });
  it('takes allowed executables (paths made absolute), a runtime and a timeout', () => {
    const options = renderOptionsFrom({
      allowExec: ['./bin/fn', 'kubeval'],
      containerRuntime: 'podman',
      fnTimeout: '5s',
    });
    expect(options.allowExec?.[0]).toMatch(/^\/.*\/bin\/fn$/);
    expect(options).toMatchObject({
      allowExec: [expect.any(String), 'kubeval'],
      containerRuntime: 'podman',
      timeoutMs: 5000,
    });
  });
  it('refuses an unknown runtime or a bad duration as usage errors', () => {
    expect(() => renderOptionsFrom({ containerRuntime: 'lxc' })).toThrow(UsageError);
    expect(() => renderOptionsFrom({ fnTimeout: 'soon' })).toThrow(UsageError);
  });
});
