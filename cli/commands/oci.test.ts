// `pvctl oci push` and `pull` against the real registry (TLS with a test CA, basic auth).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { removeDir, tempDir } from '../../lib/git/testing/repos.ts';
import { startRegistry, type TestRegistry } from '../../lib/oci/testing/registry.ts';
import { registerOci } from './oci.ts';

const PASSWORD = 'cli-Secret-42';
let registry: TestRegistry;
let root: string;
let lines: string[];

async function pvctl(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  lines = [];
  const program = new Command('pvctl').exitOverride();
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerOci(program, { out: (line) => lines.push(line), env });
  await program.parseAsync(['node', 'pvctl', ...args]);
  return lines.join('\n');
}
const creds = () => ({ PVCTL_OCI_USERNAME: 'author', PVCTL_OCI_PASSWORD: PASSWORD });

beforeAll(async () => {
  registry = await startRegistry({ tls: true, username: 'author', password: PASSWORD });
  root = tempDir('pvctl-oci-');
  const pkg = join(root, 'pkg');
  mkdirSync(join(pkg, 'deploy'), { recursive: true });
  writeFileSync(join(pkg, 'Kptfile'), 'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: app\n');
  writeFileSync(join(pkg, 'deploy', 'app.yaml'), 'kind: ConfigMap\n');
  writeFileSync(join(pkg, 'setup.sh'), '#!/bin/sh\n');
  chmodSync(join(pkg, 'setup.sh'), 0o755);
  symlinkSync('app.yaml', join(pkg, 'deploy', 'current.yaml'));
}, 30_000);

afterAll(async () => {
  await registry?.stop();
  removeDir(root);
});

describe('pvctl oci', () => {
  it('pushes a directory and pulls it back (content, executable bit, symlink), by tag and by digest', async () => {
    const ref = `${registry.host}/blueprints/app:v1`;
    const pushed = await pvctl(creds(), 'oci', 'push', join(root, 'pkg'), ref, '--ca-file', registry.caFile!);
    expect(pushed).toMatch(new RegExp(`^${registry.host}/blueprints/app:v1@sha256:[a-f0-9]{64}$`));
    const digest = pushed.split('@')[1]!;
    for (const [source, dir] of [
      [ref, 'out-tag'],
      [`${registry.host}/blueprints/app@${digest}`, 'out-digest'],
    ] as const) {
      const out = join(root, dir);
      const said = await pvctl(creds(), 'oci', 'pull', source, out, '--ca-file', registry.caFile!);
      expect(said).toContain(digest);
      expect(said).toContain('(3 files)');
      expect(readFileSync(join(out, 'deploy', 'app.yaml'), 'utf8')).toBe('kind: ConfigMap\n');
      expect(readFileSync(join(out, 'Kptfile'))).toEqual(readFileSync(join(root, 'pkg', 'Kptfile')));
      expect(lstatSync(join(out, 'setup.sh')).mode & 0o111).toBe(0o111);
      expect(readlinkSync(join(out, 'deploy', 'current.yaml'))).toBe('app.yaml');
    }
  });

  it('a wrong password: the error names the user, not the password', async () => {
    const error = await pvctl(
      { PVCTL_OCI_USERNAME: 'author', PVCTL_OCI_PASSWORD: 'WRONG-pass-77' },
      'oci', 'pull', `${registry.host}/blueprints/app:v1`, join(root, 'never'), '--ca-file', registry.caFile!,
    ).catch((e: unknown) => e); // prettier-ignore
    expect((error as Error).message).toMatch(/refused the credentials of user "author"/);
    expect((error as Error).message).not.toContain('WRONG-pass-77');
  });

  it('without the CA the registry is not trusted', async () => {
    await expect(
      pvctl(creds(), 'oci', 'pull', `${registry.host}/blueprints/app:v1`, join(root, 'never2')),
    ).rejects.toThrow(/not reachable/);
  });

  it('usage errors: a bad reference, a digest to push to, a non-empty target, no Kptfile, half the credentials', async () => {
    const ca = ['--ca-file', registry.caFile!];
    await expect(pvctl(creds(), 'oci', 'push', join(root, 'pkg'), 'Bad/Ref', ...ca)).rejects.toMatchObject({
      name: 'UsageError',
    });
    await expect(
      pvctl(creds(), 'oci', 'push', join(root, 'pkg'), `${registry.host}/x@sha256:${'a'.repeat(64)}`, ...ca),
    ).rejects.toThrow(/needs a tag/);
    await expect(
      pvctl(creds(), 'oci', 'pull', `${registry.host}/blueprints/app:v1`, join(root, 'pkg'), ...ca),
    ).rejects.toThrow(/not an empty directory/);
    await expect(
      pvctl(creds(), 'oci', 'push', join(root, 'pkg', 'deploy'), `${registry.host}/x:v1`, ...ca),
    ).rejects.toThrow(/no Kptfile/);
    await expect(
      pvctl({ PVCTL_OCI_USERNAME: 'author' }, 'oci', 'push', join(root, 'pkg'), `${registry.host}/x:v1`, ...ca),
    ).rejects.toThrow(/both PVCTL_OCI_USERNAME and PVCTL_OCI_PASSWORD/);
  });
});
