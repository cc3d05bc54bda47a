// Processes as /proc shows them (Linux), for tests that check no git or ssh process is left behind.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  command: string;
}

/** Processes other than this one, zombies excepted, whose command line matches `pattern`. */
export function processesMatching(pattern: RegExp): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (stat[stat.lastIndexOf(')') + 2] === 'Z') continue;
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (pattern.test(command)) found.push({ pid: Number(name), command });
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/** Polls `check` until it returns a truthy value; throws `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | false | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
