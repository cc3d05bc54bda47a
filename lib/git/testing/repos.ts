// Test fixtures: bare repositories on disk with packages, built with plain git commands the way a
// person (or Porch) would, independent of the code under test.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runGit } from '../exec.ts';

export function tempDir(prefix = 'pv-git-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export const IDENTITY_ENV = {
  GIT_AUTHOR_NAME: 'Test Author',
  GIT_AUTHOR_EMAIL: 'author@example.com',
  GIT_COMMITTER_NAME: 'Test Committer',
  GIT_COMMITTER_EMAIL: 'committer@example.com',
};

/** A Kptfile for a package named `name`. */
export function kptfile(name: string): string {
  return `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: ${name}\n  annotations:\n    config.kubernetes.io/local-config: "true"\ninfo:\n  description: ${name} package\n`;
}

/** A small package: Kptfile plus `n` ConfigMaps. */
export function samplePackage(name: string, n = 3, version = 'v1'): Map<string, Buffer> {
  const files = new Map<string, Buffer>([['Kptfile', Buffer.from(kptfile(name))]]);
  for (let i = 0; i < n; i++) {
    files.set(
      `cm-${i}.yaml`,
      Buffer.from(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}-${i}\ndata:\n  version: ${version}\n`),
    );
  }
  return files;
}

/** A working clone used to prepare commits in a bare repository. */
export class WorkClone {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }
  git(...args: string[]) {
    return runGit(args, { cwd: this.dir, env: IDENTITY_ENV });
  }
  write(path: string, content: string | Buffer): void {
    const target = join(this.dir, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  writePackage(path: string, files: Map<string, Buffer>): void {
    rmSync(join(this.dir, path), { recursive: true, force: true });
    for (const [name, content] of files) this.write(`${path}/${name}`, content);
  }
  async commitAll(message: string): Promise<string> {
    await this.git('add', '-A');
    await this.git('commit', '-q', '--allow-empty', '-m', message);
    return (await this.git('rev-parse', 'HEAD')).stdout.toString().trim();
  }
}

/** Creates `<root>/<name>.git` (bare) and a work clone of it on branch `branch`. */
export async function createRepo(
  root: string,
  name: string,
  branch = 'main',
): Promise<{ bare: string; work: WorkClone }> {
  const bare = join(root, `${name}.git`);
  await runGit(['init', '-q', '--bare', `--initial-branch=${branch}`, bare]);
  const workDir = join(root, `${name}.work`);
  await runGit(['clone', '-q', bare, workDir]);
  const work = new WorkClone(workDir);
  await work.git('symbolic-ref', 'HEAD', `refs/heads/${branch}`);
  return { bare, work };
}
