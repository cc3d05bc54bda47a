import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { UnavailableError, UsageError } from './output.ts';
import { buildProgram, commanderExit, commandOf, COMMANDS, INTERNAL_ERROR_EXIT, reportError } from './pvctl.ts';

const PVCTL = join(import.meta.dirname, 'pvctl.ts');

/** Runs pvctl as a person does, in a child process; `loaded` lists the npm packages it imported. */
function pvctl(args: string[], env: NodeJS.ProcessEnv = {}) {
  // A module hook that reports every package under node_modules the process loads.
  const hook = `import { registerHooks } from 'node:module';
registerHooks({ resolve(specifier, context, next) {
  const result = next(specifier, context);
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(result.url);
  if (m) process.stderr.write('LOADED ' + m[1] + '\\n');
  return result;
} });`;
  const run = spawnSync(
    process.execPath,
    [
      '--disable-warning=ExperimentalWarning',
      '--import',
      `data:text/javascript,${encodeURIComponent(hook)}`,
      PVCTL,
      ...args,
    ],
    { encoding: 'utf8', env: { ...process.env, KUBECONFIG: '', HOME: '/nonexistent-home', ...env } },
  );
  const loaded = new Set([...run.stderr.matchAll(/^LOADED (.+)$/gm)].map((m) => m[1]));
  const stderr = run.stderr.replace(/^LOADED .+\n/gm, '');
  return { code: run.status, stdout: run.stdout, stderr, loaded };
}

describe('pvctl errors', () => {
  const report = (e: unknown, debug = false) => {
    const lines: string[] = [];
    return { code: reportError(e, (l) => lines.push(l), debug), lines };
  };

  it('prints a usage error as one line, exit 64; no cluster, 69; any other failure, 1', () => {
    expect(report(new UsageError('no Repository named x'))).toEqual({
      code: 64,
      lines: ['pvctl: no Repository named x'],
    });
    expect(report(new UnavailableError('cannot reach the API server'))).toEqual({
      code: 69,
      lines: ['pvctl: cannot reach the API server'],
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

  it('maps commander: help and --version exit 0, a wrong command line 64', () => {
    expect(commanderExit(new CommanderError(0, 'commander.helpDisplayed', ''))).toBe(0);
    expect(commanderExit(new CommanderError(0, 'commander.version', ''))).toBe(0);
    expect(commanderExit(new CommanderError(1, 'commander.unknownCommand', ''))).toBe(64);
    expect(commanderExit(new CommanderError(1, 'commander.unknownOption', ''))).toBe(64);
    expect(commanderExit(new CommanderError(1, 'commander.missingArgument', ''))).toBe(64);
    // `pvctl` alone: the help, as a wrong command line.
    expect(commanderExit(new CommanderError(1, 'commander.help', ''))).toBe(64);
  });
});

describe('pvctl loads only the command it runs', () => {
  it('finds the command a command line names, also after help', () => {
    expect(commandOf(['get', 'pvar', '-n', 'x'])).toBe('get');
    expect(commandOf(['--help'])).toBeUndefined();
    expect(commandOf(['help', 'describe'])).toBe('describe');
    expect(commandOf([])).toBeUndefined();
  });

  it('has a stub per command that says what the real command says', async () => {
    for (const lazy of COMMANDS) {
      const real = new Command('pvctl');
      (await lazy.load())(real);
      expect({ name: lazy.name, description: real.commands[0]?.description() }).toEqual({
        name: lazy.name,
        description: lazy.description,
      });
    }
    const stubbed = await buildProgram(['version']);
    expect(stubbed.commands.map((c) => c.name())).toEqual(['version', ...COMMANDS.map((c) => c.name)]);
    expect(stubbed.commands.find((c) => c.name() === 'get')!.options).toEqual([]);
    const full = await buildProgram(['get']);
    expect(full.commands.find((c) => c.name() === 'get')!.options.map((o) => o.long)).toContain('--all-namespaces');
  });

  it('version and --help load commander only; get loads the Kubernetes client', () => {
    const version = pvctl(['version']);
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^pvctl \d+\.\d+\.\d+ \(node v24/) });
    expect([...version.loaded]).toEqual(['commander']);
    const help = pvctl(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('request-reconcile');
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 failed or not Ready');
    expect([...help.loaded]).toEqual(['commander']);
    const get = pvctl(['get', 'pvar', '--kubeconfig', '/nonexistent/kubeconfig']);
    expect(get.loaded).toContain('@kubernetes/client-node');
  });

  it('exits 64 on a wrong command line and 69 without a cluster', () => {
    const unknown = pvctl(['bogus']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/^error: unknown command 'bogus'/);
    expect(pvctl(['get']).code).toBe(64);
    expect(pvctl([]).code).toBe(64);
    expect(pvctl(['rpkg']).code).toBe(64);
    expect(pvctl(['get', 'pods']).stderr).toBe('pvctl: unknown resource type "pods"; use pvar, pvset, pvrepo\n');
    expect(pvctl(['get', 'pvar', '-n', 'a', '-A']).code).toBe(64);
    const noCluster = pvctl(['get', 'pvar']);
    expect(noCluster).toMatchObject({
      code: 69,
      stderr:
        'pvctl: no cluster to connect to: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a cluster\n',
    });
    expect(pvctl(['run', '--metrics-bind-address', '0', '--health-probe-bind-address', '0']).code).toBe(69);
  });
});
