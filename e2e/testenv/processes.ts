// Child processes of the test environment: started with argument arrays, output to a log file,
// stopped with SIGTERM then SIGKILL. Each runs under supervise.sh, which kills it as soon as this
// process dies, however it dies (the stdin pipe closes). Exit and signal hooks kill them as well, and
// each environment records its children in its temp dir so a later run can reap leftovers.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMP_PREFIX = 'pvc-testenv-';
const OWNER_FILE = 'owner.json';
const SUPERVISOR = join(dirname(fileURLToPath(import.meta.url)), 'supervise.sh');

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hooksInstalled = false;

// supervise.sh forwards SIGTERM; if this process is exiting, the closing stdin pipe makes it SIGKILL.
function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGTERM');
    } catch {
      // already gone
    }
  }
}

function cleanupNow(): void {
  killAllNow();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

/** Removes `dir` if this process exits or is signalled before releaseTempDir(dir). */
export function registerTempDir(dir: string): void {
  installExitHooks();
  tempDirs.add(dir);
}

export function releaseTempDir(dir: string): void {
  tempDirs.delete(dir);
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      cleanupNow();
      process.off(signal, onSignal);
      // Nobody else handles it: behave as if we had never listened (terminate by the signal).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly #command: string;
  readonly #args: string[];
  #child: ChildProcess | undefined;
  #exit: Promise<number | string> | undefined;

  readonly #orphanCleanupDir: string | undefined;

  /** `orphanCleanupDir` is removed by the supervisor if this process dies without stopping it. */
  constructor(name: string, command: string, args: string[], logFile: string, orphanCleanupDir?: string) {
    this.name = name;
    this.#orphanCleanupDir = orphanCleanupDir;
    this.#command = command;
    this.#args = args;
    this.logFile = logFile;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Exit code or signal once the process has exited; undefined while it runs. */
  exited: number | string | undefined;

  start(): void {
    installExitHooks();
    const log = openSync(this.logFile, 'a');
    try {
      // stdin stays open and unused: it is how supervise.sh notices that we are gone.
      const env = { ...process.env, SUPERVISE_ORPHAN_CLEANUP: this.#orphanCleanupDir ?? '' };
      const child = spawn(SUPERVISOR, [this.#command, ...this.#args], { stdio: ['pipe', log, log], env });
      this.#child = child;
      this.exited = undefined;
      live.add(child);
      this.#exit = new Promise((resolve) => {
        child.once('error', (err) => {
          live.delete(child);
          this.exited = `error: ${err.message}`;
          resolve(this.exited);
        });
        child.once('exit', (code, signal) => {
          live.delete(child);
          child.stdin?.destroy();
          this.exited = code ?? signal ?? 'unknown';
          resolve(this.exited);
        });
      });
    } finally {
      closeSync(log);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.#exit || this.exited !== undefined) return;
    child.kill('SIGTERM');
    // After the grace period, SIGUSR2 makes supervise.sh SIGKILL the command.
    const timer = setTimeout(() => child.kill('SIGUSR2'), graceMs);
    await this.#exit;
    clearTimeout(timer);
  }

  /** The last lines of the log, for error messages. */
  tail(lines = 25): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** Records which process owns `dir` and which children it started, for reapStale(). */
export function recordOwner(dir: string, children: ManagedProcess[]): void {
  const pids = children.map((c) => c.pid).filter((p): p is number => p !== undefined);
  writeFileSync(join(dir, OWNER_FILE), JSON.stringify({ owner: process.pid, pids }));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Kills the children of environments whose owner died without cleaning up (e.g. SIGKILL) and removes
 * their temp dirs. A pid is only killed if its command line still mentions the environment's dir.
 */
export function reapStale(): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((e) => e.startsWith(TEMP_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = join(tmpdir(), entry);
    let record: { owner: number; pids: number[] };
    try {
      record = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { owner: number; pids: number[] };
    } catch {
      continue; // being set up right now, or not ours
    }
    if (alive(record.owner)) continue;
    for (const pid of record.pids) {
      const cmdline = `/proc/${pid}/cmdline`;
      try {
        if (existsSync(cmdline) && readFileSync(cmdline, 'utf8').includes(dir)) process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
