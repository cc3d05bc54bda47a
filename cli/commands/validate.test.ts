import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { runValidate } from './validate.ts';

const root = join(import.meta.dirname, '..', '..');
const broken = join(import.meta.dirname, 'testdata', 'broken');

function validate(paths: string[]) {
  const lines: string[] = [];
  const problems = runValidate(paths, (line) => lines.push(line));
  return { problems, lines };
}

describe('pvctl validate', () => {
  it('accepts the samples', () => {
    const { problems, lines } = validate([join(root, 'config', 'samples')]);
    expect(problems).toBe(0);
    expect(lines.at(-1)).toMatch(/^\d+ object\(s\) checked: all valid$/);
  });

  it('prints one line per problem with file, document index, object and field', () => {
    const { problems, lines } = validate([join(broken, 'mixed.yaml')]);
    const file = join(broken, 'mixed.yaml');
    expect(lines.slice(0, -1)).toEqual([
      `${file}[1] PackageVariant porch-pv: apiVersion: Invalid value: "config.porch.kpt.dev/v1alpha1": this is a Porch manifest; use apiVersion packagevariant.dev/v1alpha1`,
      expect.stringMatching(
        new RegExp(
          `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\[2\\] PackageVariation typo: kind: Invalid value: "PackageVariation": unknown kind`,
        ),
      ),
      `${file}[3] PackageVariant default/bad: spec.deletionPolicy: Unsupported value: "keep": supported values: "delete", "orphan"`,
      `${file}[3] PackageVariant default/bad: spec.upstream.package: Required value`,
      `${file}[3] PackageVariant default/bad: spec.downstream.package: Invalid value: "../../etc": must not contain '.' or '..' segments`,
    ]);
    expect(problems).toBe(5);
  });

  it('reports a file that is not YAML with its position', () => {
    const { problems, lines } = validate([join(broken, 'not-yaml.yaml')]);
    expect(problems).toBe(1);
    expect(lines[0]).toMatch(/not-yaml\.yaml\[0\]: not valid YAML: .*\(line \d+, column \d+\)/);
  });

  it('reports missing paths and empty input', () => {
    expect(validate([join(broken, 'missing.yaml')]).lines[0]).toMatch(/missing\.yaml: no such file or directory/);
    const empty = mkdtempSync(join(tmpdir(), 'pvctl-validate-'));
    expect(validate([empty]).lines[0]).toMatch(/^no manifests found in /);
    rmSync(empty, { recursive: true });
  });

  it('exits 1 without a stack trace on errors, 0 on valid input', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, [join(root, 'cli', 'pvctl.ts'), ...args], { encoding: 'utf8', cwd: root });
    const bad = run(['validate', '-f', broken]);
    expect(bad.status).toBe(1);
    expect(bad.stdout + bad.stderr).not.toMatch(/\n\s+at /);
    const good = run(['validate', '-f', join(root, 'config', 'samples')]);
    expect(good.stderr).toBe('');
    expect(good.status).toBe(0);
    // A missing -f is a wrong command line: 64, not the 1 of invalid manifests.
    expect(run(['validate']).status).toBe(64);
  });
});
