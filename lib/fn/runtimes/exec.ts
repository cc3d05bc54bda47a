// `exec:` functions: only executables the operator listed (allowExec) are run, never one a Kptfile
// chooses. The process gets an empty temporary working directory, a minimal environment, and no
// network where the machine lets an unprivileged user namespace be made (`unshare -rn`).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { parseResourceList, serializeResourceList } from '../resourcelist.ts';
import type { FunctionOutput, ResourceList } from '../types.ts';
import { runProcess, type Limits } from './process.ts';

/** Splits `exec:` as kpt does (shell words, no shell): the program and its arguments. */
export function splitExec(exec: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (let i = 0; i < exec.length; i++) {
    const c = exec[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < exec.length) word += exec[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < exec.length) {
      word += exec[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`exec ${JSON.stringify(exec)}: unterminated quote`);
  if (inWord) words.push(word);
  return words;
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** A bare program name looked up in PATH, as kpt's exec.Command does; other paths resolved against `base`. */
function locate(program: string, base: string | undefined): string | undefined {
  if (program.includes('/')) return isAbsolute(program) ? program : base ? resolve(base, program) : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The allowed executable `exec` names, or why it is refused. An entry of `allowExec` is a path or a
 * bare name (looked up in PATH); the Kptfile's program must resolve to the same file (after symlinks).
 * A relative program path in the Kptfile is resolved against `execDir` (the package directory on
 * disk), and never allowed without it.
 */
export function resolveExec(
  exec: string,
  allowExec: readonly string[],
  execDir?: string,
): { program: string; args: string[] } | string {
  let words: string[];
  try {
    words = splitExec(exec);
  } catch (e) {
    return (e as Error).message;
  }
  const [program, ...args] = words;
  if (!program) return 'exec is empty';
  if (allowExec.length === 0) return 'exec functions are not allowed (no allowExec entries are configured)';
  const wanted = locate(program, execDir);
  const allowed =
    wanted &&
    allowExec.map((entry) => locate(entry, undefined)).find((entry) => entry && canonical(entry) === canonical(wanted));
  if (!allowed) return `executable ${JSON.stringify(program)} is not in allowExec`;
  return { program: canonical(allowed), args };
}

let unshareWorks: boolean | undefined;
/** Whether `unshare -rn` (a user and network namespace) can be made here; checked once. */
function canUnshare(): boolean {
  if (unshareWorks === undefined) {
    const r = spawnSync('unshare', ['-rn', 'true'], { stdio: 'ignore', timeout: 5000 });
    unshareWorks = r.status === 0;
  }
  return unshareWorks;
}

export async function runExec(
  program: string,
  args: string[],
  list: ResourceList,
  limits: Limits,
  options: { network?: boolean } = {},
): Promise<FunctionOutput> {
  const cwd = mkdtempSync(join(tmpdir(), 'pvctl-fn-'));
  try {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, TMPDIR: cwd, LANG: 'C.UTF-8' };
    const isolated = !options.network && canUnshare();
    const [command, argv] = isolated ? ['unshare', ['-rn', '--', program, ...args]] : [program, args];
    const outcome = await runProcess(command, argv as string[], serializeResourceList(list), limits, { cwd, env });
    return toOutput(outcome);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/** A process outcome as a function output: items and results from stdout when it exited 0. */
export function toOutput(outcome: {
  stdout: string;
  stderr: string;
  exitCode: number;
  failure?: string;
}): FunctionOutput {
  const stderr = outcome.stderr;
  if (outcome.failure) return { results: [], error: outcome.failure, exitCode: outcome.exitCode, stderr };
  let parsed: ReturnType<typeof parseResourceList> | undefined;
  let parseError: string | undefined;
  try {
    parsed = outcome.stdout.trim() ? parseResourceList(outcome.stdout) : undefined;
  } catch (e) {
    parseError = (e as Error).message;
  }
  if (outcome.exitCode !== 0) {
    return {
      results: parsed?.results ?? [],
      error: `exit code ${outcome.exitCode}`,
      exitCode: outcome.exitCode,
      stderr,
    };
  }
  if (!parsed) return { results: [], error: parseError ?? 'no ResourceList on stdout', exitCode: 1, stderr };
  return { items: parsed.items, results: parsed.results, exitCode: 0, stderr };
}
