// The README's main command must keep working: run the demo and check what it shows.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';

describe('make demo (scripts/demo.ts)', () => {
  it('creates clone drafts, publishes them, and shows an upgrade draft carrying both changes', () => {
    const run = spawnSync(process.execPath, [join(import.meta.dirname, 'demo.ts')], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/edge-east-nginx\s+True\s+NoErrors\s+edge-east\.nginx\.packagevariant-1\s+Draft/);
    expect(out).toContain('approve nginx packagevariant-1 v1: created');
    expect(out).toMatch(/edge-east-nginx\s+True\s+NoErrors\s+edge-east\.nginx\.packagevariant-2\s+Draft/);
    const upgraded = out.slice(out.indexOf('$ git show'));
    expect(upgraded).toContain('replicas: 5 # sites scale this');
    expect(upgraded).toContain('image: nginx:1.27');
    expect(upgraded).toContain('containerPort: 8080');
    // The pipeline function the variant adds took effect in the clone and in the upgrade.
    expect(out).toMatch(/kind: Service\nmetadata:[^\n]*\n {2}name: nginx\n( {2}.*\n)* {2}namespace: edge-east\n/);
    expect(upgraded).toContain('namespace: edge-east');
  });
});
