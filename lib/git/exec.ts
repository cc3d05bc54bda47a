// The one place that spawns git. Argument arrays only (no shell), a controlled environment (no
// prompts, no system or global config, only allowed transports), timeouts, redaction of secrets
// from error messages, a counter of spawned processes for the benchmarks, and observers of each
// process's duration (metrics). No git process outlives this process: they are killed with their
// helpers when it exits, and ssh kills its git when this process dies without exiting (SIGKILL).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProcess, type SpawnedProcess } from '../spawn/spawner.ts';

/** Transports git may use (GIT_ALLOW_PROTOCOL); `ext::` and other remote helpers are refused. */
export const ALLOWED_PROTOCOLS = ['file', 'https', 'http', 'ssh', 'git'] as const;

export const DEFAULT_TIMEOUT_MS = 120_000;

/**
 * Counts every git process started through this module (the benchmarks report it): in all, and by
 * subcommand (`ls-remote`, `fetch`, `cat-file`, `fast-import`, `push`, ...) with the wall time from
 * spawn to exit (long-lived batch processes count until they end).
 */
export const gitProcessStats: { spawned: number; byCommand: Record<string, { count: number; ms: number }> } = {
  spawned: 0,
  byCommand: {},
};

/** A git process that ended: its subcommand, wall time from spawn to exit, and whether it exited 0. */
export interface GitProcessEvent {
  command: string;
  durationMs: number;
  ok: boolean;
}

const processObservers = new Set<(event: GitProcessEvent) => void>();

/**
 * Calls `observer` for every git process of this process that ends (the caches, and so the
 * processes, are shared by everything in the process). Returns the function that stops it.
 */
export function observeGitProcesses(observer: (event: GitProcessEvent) => void): () => void {
  processObservers.add(observer);
  return () => processObservers.delete(observer);
}

/** The subcommand of a git argument list (the first argument that is not an option). */
function subcommand(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-C' || arg === '-c' || arg === '--git-dir') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return '(none)';
}

export class GitError extends Error {
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(message: string, exitCode: number | null, stderr: string) {
    super(message);
    this.name = 'GitError';
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export interface GitExecOptions {
  /** Working directory (usually the bare cache repository). */
  cwd?: string;
  /** Extra environment (credentials, GIT_DIR, ...), merged over the controlled base environment. */
  env?: Record<string, string>;
  /** Bytes written to stdin (then closed). */
  input?: Buffer | string;
  timeoutMs?: number;
  /** Strings that must never appear in an error message. */
  secrets?: readonly string[];
  /** Exit codes that are not errors (0 always is). */
  okExitCodes?: readonly number[];
}

export interface GitResult {
  stdout: Buffer;
  stderr: string;
  exitCode: number;
}

let privateHome: string | undefined;

/** An empty private HOME for git and ssh, so nothing from the user's home leaks in. */
function gitHome(): string {
  privateHome ??= mkdtempSync(join(tmpdir(), 'pv-git-home-'));
  return privateHome;
}

const PASSED_THROUGH = [
  'PATH',
  'TMPDIR',
  'TZ',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'GIT_SSL_CAINFO',
];

/** The environment every git process gets; nothing else of ours is inherited. */
export function baseGitEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of PASSED_THROUGH) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return {
    ...env,
    HOME: gitHome(),
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GIT_ALLOW_PROTOCOL: ALLOWED_PROTOCOLS.join(':'),
    GIT_SSH_COMMAND: 'ssh -F /dev/null -o BatchMode=yes',
    GIT_SSH_VARIANT: 'ssh',
    GIT_PROTOCOL_FROM_USER: '0',
  };
}

/** Replaces every secret (and URL user info) in `text` with `***`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
  for (const secret of secrets) {
    if (secret.length >= 3) out = out.split(secret).join('***');
  }
  return out;
}

function describeCommand(args: readonly string[], secrets: readonly string[]): string {
  const shown = args.filter((a) => !a.startsWith('--force-with-lease=')).slice(0, 6);
  return redact(`git ${shown.join(' ')}${args.length > shown.length ? ' ...' : ''}`, secrets);
}

/**
 * Put before GIT_SSH_COMMAND, which git runs with `sh -c`: a background subshell blocks reading
 * fd 3, a pipe whose other end only this process holds, and kills the process group (git, ssh and
 * the rest of git's helpers) when it reads end of file: when this process dies, even by SIGKILL,
 * or closes the pipe because git has exited. Without fd 3 (git not run by spawnGit), ssh just runs.
 */
const SSH_DIES_WITH_PARENT =
  'if true 2>/dev/null <&3; then (read -r _ <&3; kill -9 0) </dev/null >/dev/null 2>&1 & fi; exec ';

const running = new Set<SpawnedProcess>();
let killOnExit = false;

/** Kills every git process of this process that is still running, with its helpers. */
export function killGitProcesses(): void {
  for (const child of running) killGroup(child);
  running.clear();
}

/** Starts a git process (for long-lived batch processes). The caller owns it. */
export function spawnGit(args: readonly string[], options: GitExecOptions = {}): SpawnedProcess {
  gitProcessStats.spawned++;
  const command = subcommand(args);
  const stats = (gitProcessStats.byCommand[command] ??= { count: 0, ms: 0 });
  stats.count++;
  const started = performance.now();
  if (!killOnExit) {
    killOnExit = true;
    // 'exit' also runs for process.exit() in a signal handler (pvctl reconcile, pvctl run).
    process.on('exit', killGitProcesses);
  }
  const env = { ...baseGitEnv(), ...options.env };
  env.GIT_SSH_COMMAND = SSH_DIES_WITH_PARENT + env.GIT_SSH_COMMAND;
  // In its own process group, so a timeout also ends helpers git started (git-remote-http, ssh).
  const child = spawnProcess('git', args, { cwd: options.cwd, env, extraPipes: 1 });
  const lifeline = child.stdio[3]!;
  lifeline.unref(); // the process, and its stdio, decide whether it keeps the event loop alive
  running.add(child);
  const ended = () => {
    running.delete(child);
    lifeline.destroy();
  };
  child.once('exit', ended);
  child.once('error', ended);
  child.once('close', (code) => {
    const durationMs = performance.now() - started;
    stats.ms += durationMs;
    for (const observer of processObservers) observer({ command, durationMs, ok: code === 0 });
  });
  return child;
}

/** Ends a git process and every helper it started (they share its process group). */
export function killGroup(child: { pid?: number | undefined; kill(signal?: NodeJS.Signals): boolean }): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Runs git to completion and returns its output; throws a redacted GitError on failure. */
export function runGit(args: readonly string[], options: GitExecOptions = {}): Promise<GitResult> {
  const secrets = options.secrets ?? [];
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawnGit(args, options);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
      reject(new GitError(`${describeCommand(args, secrets)}: timed out after ${timeoutMs} ms`, null, ''));
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new GitError(`${describeCommand(args, secrets)}: ${redact(e.message, secrets)}`, null, ''));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stderr = redact(Buffer.concat(err).toString('utf8'), secrets);
      if (timedOut) {
        return; // already rejected
      } else if (code === 0 || (code !== null && options.okExitCodes?.includes(code))) {
        resolve({ stdout: Buffer.concat(out), stderr, exitCode: code });
      } else {
        const detail = stderr.trim().split('\n').slice(-3).join('; ');
        reject(new GitError(`${describeCommand(args, secrets)} failed (exit ${code}): ${detail}`, code, stderr));
      }
    });
    child.stdin.on('error', () => {
      /* the process may exit before reading all input; 'close' reports the outcome */
    });
    child.stdin.end(options.input ?? '');
  });
}
