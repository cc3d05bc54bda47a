// The completion scripts, generated from the program; the bash one run in bash as a shell runs it.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../program.ts';
import { bashScript, completionScript, fishScript, zshScript } from './completion.ts';

/** What bash completes for the words typed so far (the last one is being typed). */
function complete(script: string, words: string[], fakeBin: string): string[] {
  const line = ['pvctl', ...words];
  const run = spawnSync(
    'bash',
    [
      '-c',
      `source "$0"; COMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _pvctl; printf '%s\\n' "\${COMPREPLY[@]}"`,
      script,
    ],
    { encoding: 'utf8', env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` } },
  );
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout.split('\n').filter(Boolean);
}

describe('pvctl completion', () => {
  it('bash: completes commands, subcommands, flags, kinds, output formats, and names from the cluster', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvctl-completion-'));
    try {
      const script = join(dir, 'pvctl.bash');
      writeFileSync(script, bashScript(await buildProgram([], true)));
      // Names come from `pvctl get TYPE -o name`: a stand-in pvctl on PATH answers for the cluster.
      const bin = join(dir, 'bin');
      spawnSync('mkdir', [bin]);
      writeFileSync(
        join(bin, 'pvctl'),
        '#!/bin/sh\n[ "$1 $2 $3 $4" = "get pvar -o name" ] && printf "packagevariant.packagevariant.dev/east\\npackagevariant.packagevariant.dev/west\\n"\n',
      );
      chmodSync(join(bin, 'pvctl'), 0o755);
      expect(complete(script, ['re'], bin)).toEqual(['reconcile', 'render', 'request-reconcile', 'resume']);
      expect(complete(script, ['rpkg', 'pro'], bin)).toEqual(['propose', 'propose-delete']);
      expect(complete(script, ['get', '--all'], bin)).toEqual(['--all-namespaces']);
      expect(complete(script, ['get', ''], bin)).toEqual(['pvar', 'pvset', 'pvrepo']);
      expect(complete(script, ['suspend', 'pv'], bin)).toEqual(['pvar', 'pvset']);
      expect(complete(script, ['get', '-o', ''], bin)).toContain('wide');
      expect(complete(script, ['describe', '-n', 'sites', 'pvar', ''], bin)).toEqual(['east', 'west']);
      expect(complete(script, ['suspend', 'pvar', 'w'], bin)).toEqual(['west']);
      expect(complete(script, ['run', '--leader-e'], bin)).toEqual([
        '--leader-elect',
        '--leader-election-id',
        '--leader-election-namespace',
        '--leader-election-lease-duration',
        '--leader-election-renew-deadline',
        '--leader-election-retry-period',
      ]);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('zsh loads the bash completion through bashcompinit; fish has a line per command and flag', async () => {
    const program = await buildProgram([], true);
    const zsh = zshScript(program);
    expect(zsh.split('\n').slice(0, 4).join('\n')).toMatch(/^#compdef pvctl\n/);
    expect(zsh).toContain('autoload -U +X bashcompinit && bashcompinit');
    expect(zsh).toContain('complete -o filenames -F _pvctl pvctl');
    const fish = fishScript(program);
    expect(fish).toContain("complete -c pvctl -n '__fish_use_subcommand' -a request-reconcile -d ");
    expect(fish).toContain(
      "complete -c pvctl -n '__fish_seen_subcommand_from get' -l all-namespaces -s A -d 'every namespace'",
    );
    expect(fish).toContain(
      "complete -c pvctl -n '__fish_seen_subcommand_from rpkg; and __fish_seen_subcommand_from approve' -l repo -r -F",
    );
    expect(() => completionScript('tcsh', program)).toThrow('unknown shell "tcsh"; use bash, zsh or fish');
  });

  it('is printed by `pvctl completion bash`', () => {
    const run = spawnSync(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', join(import.meta.dirname, '..', 'pvctl.ts'), 'completion', 'bash'],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^# bash completion for pvctl/);
    expect(run.stdout).toContain('"rpkg approve")');
    const bad = spawnSync(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', join(import.meta.dirname, '..', 'pvctl.ts'), 'completion', 'tcsh'],
      { encoding: 'utf8' },
    );
    expect(bad.status).toBe(64);
  });
});
