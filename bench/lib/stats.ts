// Summaries of repeated measurements.
import { readFileSync } from 'node:fs';
import { spawnHelperPid } from '../../lib/spawn/spawner.ts';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function spread(values: number[]): { median: number; min: number; max: number } {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

const statFields = (pid: number | 'self') =>
  readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ').map(Number);

/**
 * CPU seconds of the git processes: this process's waited-for children (/proc/<pid>/stat fields 16
 * and 17, cutime and cstime, in clock ticks), and the spawn helper's own and its children's (lib/spawn).
 */
export function childCpuSeconds(): number {
  const own = statFields('self');
  let ticks = own[13]! + own[14]!;
  const helper = spawnHelperPid();
  try {
    if (helper)
      ticks += statFields(helper)
        .slice(11, 15)
        .reduce((a, b) => a + b, 0);
  } catch {
    // the helper has just exited
  }
  return ticks / 100;
}

/** A `kB` field of /proc/<pid>/status (VmRSS, VmHWM, ...), in KiB; 0 when absent or the process is gone. */
export function statusKiB(field: string, pid: number | 'self' = 'self'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Peak RSS of the spawn helper process, MiB (0 when there is none). */
export function spawnHelperPeakRssMiB(): number {
  const helper = spawnHelperPid();
  return helper ? statusKiB('VmHWM', helper) / 1024 : 0;
}
