import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { usageOf } from './args.ts';

const BENCH = join(import.meta.dirname, '..');

describe('bench options', () => {
  it('takes the usage from the leading comment block only', () => {
    expect(usageOf('// a\n//   b\n//\nimport x;\n// not usage\n')).toBe('a\n  b\n');
  });

  it('prints the usage for --help and names an unknown option', () => {
    const help = execFileSync(process.execPath, [join(BENCH, 'fleet.ts'), '--help']).toString();
    expect(help).toContain('node bench/fleet.ts [--n 1000]');
    const bad = spawnSync(process.execPath, [join(BENCH, 'fleet.ts'), '--nn', '3']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.toString()).toContain("Unknown option '--nn'");
    expect(bad.stderr.toString()).toContain('--help');
  });
});
