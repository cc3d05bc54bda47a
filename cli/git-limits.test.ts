import { afterEach, describe, expect, it } from '@jest/globals';
import { DEFAULT_GIT_LIMITS, gitLimits, setGitLimits } from '../lib/git/limits.ts';
import { applyGitLimits } from './git-limits.ts';
import { buildProgram } from './pvctl.ts';

afterEach(() => {
  setGitLimits(DEFAULT_GIT_LIMITS);
});

describe('--max-push-refs', () => {
  it('is a flag of pvctl run and pvctl reconcile', async () => {
    const program = await buildProgram([], true);
    for (const name of ['run', 'reconcile']) {
      const command = program.commands.find((c) => c.name() === name)!;
      expect(command.options.map((o) => o.long)).toContain('--max-push-refs');
    }
  });

  it('sets the push wave size of lib/git, and only when given', () => {
    applyGitLimits({});
    expect(gitLimits().maxPushRefs).toBe(500);
    applyGitLimits({ maxPushRefs: '200' });
    expect(gitLimits().maxPushRefs).toBe(200);
    for (const bad of ['0', '-1', '1.5', 'many', '']) {
      expect(() => applyGitLimits({ maxPushRefs: bad })).toThrow(/--max-push-refs must be a positive integer/);
    }
    expect(gitLimits().maxPushRefs).toBe(200);
  });
});
