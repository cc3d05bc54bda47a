import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MergeConflictSchema, type MergeConflict } from '../../api/v1alpha1/index.ts';
import { toOpenAPI } from '../../api/v1alpha1/schema.ts';
import { validateSchema } from '../../api/v1alpha1/schema-validation.ts';
import type { Conflict } from '../../lib/merge/index.ts';
import { runMerge, type MergeCommandOptions } from './merge.ts';

const deployment = (replicas: number) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: ${replicas}\n`;

describe('pvctl merge', () => {
  let dir: string;
  let lines: string[];
  let errors: string[];
  const run = (extra: Partial<MergeCommandOptions> = {}) =>
    runMerge(
      {
        original: join(dir, 'o'),
        updated: join(dir, 'u'),
        local: join(dir, 'l'),
        strategy: 'resource-merge',
        conflicts: 'report',
        generation: 'B',
        output: 'table',
        ...extra,
      },
      (line) => lines.push(line),
      (line) => errors.push(line),
    );
  const write = (side: string, file: string, text: string) => {
    mkdirSync(join(dir, side), { recursive: true });
    writeFileSync(join(dir, side, file), text);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pvctl-merge-'));
    lines = [];
    errors = [];
    write('o', 'd.yaml', deployment(3));
    write('u', 'd.yaml', deployment(42));
    write('l', 'd.yaml', deployment(21));
    write('l', 'README.md', 'mine\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the result in place and prints the conflict table (exit 0)', () => {
    expect(run()).toBe(0);
    expect(readFileSync(join(dir, 'l', 'd.yaml'), 'utf8')).toBe(deployment(42));
    expect(readFileSync(join(dir, 'l', 'README.md'), 'utf8')).toBe('mine\n');
    expect(lines[0]).toMatch(/^FILE\s+RESOURCE\s+FIELD\s+ORIGINAL\s+UPDATED\s+LOCAL\s+WINNER$/);
    expect(lines[1]).toMatch(/^d\.yaml\s+Deployment\.apps app\s+spec\.replicas\s+3\s+42\s+21\s+upstream$/);
    expect(lines[2]).toContain('1 conflict(s)');
  });

  it('writes to --out and leaves --local alone; json output', () => {
    expect(run({ out: join(dir, 'out'), output: 'json' })).toBe(0);
    expect(readFileSync(join(dir, 'l', 'd.yaml'), 'utf8')).toBe(deployment(21));
    expect(readFileSync(join(dir, 'out', 'd.yaml'), 'utf8')).toBe(deployment(42));
    const report = JSON.parse(lines.join('\n')) as { conflicts: unknown[]; written: string };
    expect(report.written).toBe(join(dir, 'out'));
    expect(report.conflicts).toHaveLength(1);
    // the report's conflicts are valid API MergeConflicts (the controller copies them into status)
    const apiConflict: MergeConflict = report.conflicts[0] as Conflict;
    expect(validateSchema(apiConflict, toOpenAPI(MergeConflictSchema), 'conflicts[0]')).toEqual([]);
  });

  it('exits 2 and writes nothing with --conflicts=fail', () => {
    expect(run({ conflicts: 'fail', out: join(dir, 'out') })).toBe(2);
    expect(existsSync(join(dir, 'out'))).toBe(false);
    expect(readFileSync(join(dir, 'l', 'd.yaml'), 'utf8')).toBe(deployment(21));
    expect(errors.join('\n')).toContain('nothing written');
  });

  it('exits 1 on bad input, naming the file, and writes nothing', () => {
    write('u', 'bad.yaml', 'apiVersion: v1\nkind: [\n');
    expect(run()).toBe(1);
    expect(errors.join('\n')).toContain('bad.yaml (document 0): invalid YAML');
    expect(readFileSync(join(dir, 'l', 'd.yaml'), 'utf8')).toBe(deployment(21));
  });

  it('exits 1 on unknown options and missing directories', () => {
    expect(run({ strategy: 'rebase' })).toBe(1);
    expect(run({ conflicts: 'maybe' })).toBe(1);
    expect(run({ original: join(dir, 'missing') })).toBe(1);
    expect(errors.join('\n')).toContain('is not a directory');
  });
});
