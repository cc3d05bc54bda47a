import { afterAll, describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopWasmRuntime } from '../../lib/fn/runtimes/wasm.ts';
import { runRender } from './render.ts';

afterAll(() => stopWasmRuntime());

function pkg(pipeline: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pvctl-render-'));
  writeFileSync(
    join(dir, 'Kptfile'),
    `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\npipeline:\n  mutators:\n${pipeline}`,
  );
  writeFileSync(join(dir, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm # keep me\n');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(dir, 'run.sh'), 0o755);
  return dir;
}

async function render(dir: string, options: Partial<Parameters<typeof runRender>[1]> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runRender(
    dir,
    { fnTimeout: '30s', ...options },
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('pvctl render', () => {
  it('renders in place, prints the results, keeps executable bits', async () => {
    const dir = pkg('    - image: gcr.io/kpt-fn/set-namespace:v0.4\n      configMap:\n        namespace: prod\n');
    const r = await render(dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('[PASS] "gcr.io/kpt-fn/set-namespace:v0.4"');
    expect(r.out).toContain('[info]: namespace [default] updated to "prod", 1 value(s) changed');
    expect(readFileSync(join(dir, 'cm.yaml'), 'utf8')).toBe(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm # keep me\n  namespace: prod\n',
    );
    expect(statSync(join(dir, 'run.sh')).mode & 0o111).toBe(0o111);
  });

  it('writes to --output and leaves the package alone', async () => {
    const dir = pkg('    - image: set-labels\n      configMap:\n        tier: web\n');
    const before = readFileSync(join(dir, 'cm.yaml'), 'utf8');
    const output = join(mkdtempSync(join(tmpdir(), 'pvctl-render-out-')), 'out');
    const r = await render(dir, { output });
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'cm.yaml'), 'utf8')).toBe(before);
    expect(readFileSync(join(output, 'cm.yaml'), 'utf8')).toContain('tier: web');
    expect(statSync(join(output, 'run.sh')).mode & 0o111).toBe(0o111);
  });

  it('runs exec functions only with --allow-exec, and exits 1 on a failed render', async () => {
    const dir = pkg('    - exec: ./fn.sh\n');
    writeFileSync(join(dir, 'fn.sh'), '#!/bin/sh\nsed "s/name: cm/name: renamed/"\n');
    chmodSync(join(dir, 'fn.sh'), 0o755);
    const refused = await render(dir);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('exec functions are not allowed');
    expect(readFileSync(join(dir, 'cm.yaml'), 'utf8')).toContain('name: cm #');

    const allowed = await render(dir, { allowExec: [join(dir, 'fn.sh')] });
    expect(allowed.code).toBe(0);
    expect(readFileSync(join(dir, 'cm.yaml'), 'utf8')).toContain('name: renamed #');
  });

  it('fails an image that is not built in unless a container runtime is enabled', async () => {
    const dir = pkg('    - image: example.com/fn:v1\n');
    const r = await render(dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no container runtime is enabled');
    expect(existsSync(join(dir, 'cm.yaml'))).toBe(true);
  });
});
