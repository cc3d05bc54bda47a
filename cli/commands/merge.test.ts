import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

  it('--non-root merges the Kptfile as a non-root package: upstream/upstreamLock come from upstream', () => {
    const kptfile = (ref: string) =>
      `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: sub\nupstream:\n  type: git\n  git:\n` +
      `    repo: https://example.com/r\n    directory: /sub\n    ref: ${ref}\n  updateStrategy: resource-merge\n`;
    write('o', 'Kptfile', kptfile('v1'));
    write('u', 'Kptfile', kptfile('v2'));
    write('l', 'Kptfile', kptfile('v1'));
    expect(run()).toBe(0);
    expect(readFileSync(join(dir, 'l', 'Kptfile'), 'utf8')).toContain('ref: v1');
    expect(run({ nonRoot: true })).toBe(0);
    expect(readFileSync(join(dir, 'l', 'Kptfile'), 'utf8')).toContain('ref: v2');
  });

  it('exits 1 on unknown options and missing directories', () => {
    expect(run({ strategy: 'rebase' })).toBe(1);
    expect(run({ conflicts: 'maybe' })).toBe(1);
    expect(run({ original: join(dir, 'missing') })).toBe(1);
    expect(errors.join('\n')).toContain('is not a directory');
  });
});

describe('pvctl merge: modes, symlinks and bytes', () => {
  let root: string;
  let dir: string;
  let lines: string[];
  let errors: string[];
  const latin1 = (text: string) => Buffer.from(text, 'latin1');
  const KPTFILE = 'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: p\n';
  const cm = (value: string) => latin1(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: ${value}\n`);
  const at = (side: string, path: string | Buffer) =>
    Buffer.concat([Buffer.from(join(dir, side, '/')), Buffer.from(path)]);
  const file = (side: string, path: string | Buffer, content: string | Buffer, mode = 0o644) => {
    mkdirSync(typeof path === 'string' ? dirname(join(dir, side, path)) : join(dir, side), { recursive: true });
    writeFileSync(at(side, path), content);
    chmodSync(at(side, path), mode);
  };
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
  const executable = (side: string, path: string) => (lstatSync(at(side, path)).mode & 0o100) !== 0;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pvctl-merge-modes-'));
    dir = join(root, 'pkgs');
    lines = [];
    errors = [];
    for (const side of ['o', 'u', 'l']) {
      file(side, 'Kptfile', KPTFILE);
      file(side, latin1('a\xe9.txt'), 'e acute\n');
      file(side, latin1('a\xe8.txt'), 'e grave\n');
    }
    file('o', 'run.sh', 'v1\n', 0o755);
    file('u', 'run.sh', 'v2\n', 0o755);
    file('l', 'run.sh', 'v1\n', 0o755);
    file('o', 'cafe.yaml', cm('caf\xe9'));
    file('u', 'cafe.yaml', cm('th\xe9'));
    file('l', 'cafe.yaml', cm('caf\xe9'));
    for (const side of ['o', 'u', 'l']) symlinkSync('run.sh', at(side, 'start'));
    file('u', 'tool.sh', 'new\n', 0o755);
    // the site's own executable and symlink
    file('l', 'mine.sh', 'mine\n', 0o755);
    symlinkSync(latin1('a\xe9.txt'), at('l', 'alias'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it.each([
    ['--out', true],
    ['in place', false],
  ])('keeps modes, symlinks and names byte for byte (%s)', (_how, out) => {
    expect(run(out ? { out: join(dir, 'out') } : {})).toBe(0);
    const side = out ? 'out' : 'l';
    expect(readFileSync(at(side, 'run.sh'), 'utf8')).toBe('v2\n');
    expect(['run.sh', 'tool.sh', 'mine.sh'].map((p) => executable(side, p))).toEqual([true, true, true]);
    expect(executable(side, 'Kptfile')).toBe(false);
    expect(readlinkSync(at(side, 'start'), 'utf8')).toBe('run.sh');
    expect(readlinkSync(at(side, 'alias'), 'buffer')).toEqual(latin1('a\xe9.txt'));
    expect(readFileSync(at(side, latin1('a\xe9.txt')), 'utf8')).toBe('e acute\n');
    expect(readFileSync(at(side, latin1('a\xe8.txt')), 'utf8')).toBe('e grave\n');
    expect(readFileSync(at(side, 'cafe.yaml'))).toEqual(cm('th\xe9'));
    expect(readdirSync(join(dir, side)).length).toBe(9);
  });

  it('never writes through a symlink in --local that leaves the package: local keeps it, the clash is reported', () => {
    const outside = join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'cm.yaml'), 'precious\n');
    file('o', 'shared/cm.yaml', cm('v1'));
    file('o', 'shared/notes.txt', 'notes\n');
    file('u', 'shared/cm.yaml', cm('v2'));
    file('u', 'shared/notes.txt', 'notes\n');
    file('u', 'shared/new.txt', 'new\n');
    symlinkSync('../../outside', at('l', 'shared'));
    expect(run({ conflicts: 'fail' })).toBe(2);
    expect(errors.join('\n')).toContain('nothing written');
    expect(readFileSync(at('l', 'run.sh'), 'utf8')).toBe('v1\n');
    expect(run()).toBe(0);
    expect(
      lines.some((l) =>
        /^shared\s+\(file\)\s+\(type\)\s+<absent>\s+directory\s+120000 -> \.\.\/\.\.\/outside\s+local$/.test(l),
      ),
    ).toBe(true);
    expect(lstatSync(at('l', 'shared')).isSymbolicLink()).toBe(true);
    expect(readdirSync(outside)).toEqual(['cm.yaml']);
    expect(readFileSync(join(outside, 'cm.yaml'), 'utf8')).toBe('precious\n');
  });

  it('refuses to write into a nested repository the reader skipped, and writes nothing', () => {
    mkdirSync(join(dir, 'l', 'vendor', 'lib', '.git'), { recursive: true });
    file('u', 'vendor/lib/x.txt', 'upstream\n');
    expect(run()).toBe(1);
    expect(errors.join('\n')).toContain('"vendor/lib" is another git repository (a submodule)');
    expect(readFileSync(at('l', 'run.sh'), 'utf8')).toBe('v1\n');
    expect(existsSync(at('l', 'tool.sh'))).toBe(false);
  });
});
