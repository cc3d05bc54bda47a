// Test fixtures for the controllers: real bare git repositories holding blueprint and deployment
// packages, and the manifests that point at them.
import { runGit } from '../../lib/git/exec.ts';
import { GitStore } from '../../lib/git/store.ts';
import { createRepo, type WorkClone } from '../../lib/git/testing/repos.ts';
import { API_VERSION, type KubeObject, type PackageVariant } from '../../api/v1alpha1/index.ts';

export function blueprint(
  name: string,
  options: { image?: string; replicas?: number; port?: number; annotation?: string } = {},
) {
  const { image = 'nginx:1.25', replicas = 1, port = 80, annotation = 'platform' } = options;
  return new Map<string, Buffer>([
    [
      'Kptfile',
      Buffer.from(
        `apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: ${name}\n  annotations:\n    config.kubernetes.io/local-config: "true"\ninfo:\n  description: ${name} blueprint\n`,
      ),
    ],
    [
      'deployment.yaml',
      Buffer.from(
        `# The ${name} workload.\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n` +
          (annotation ? `  annotations:\n    team: ${annotation}\n` : '') +
          `spec:\n  replicas: ${replicas} # scale per site\n  template:\n    spec:\n      containers:\n        - name: ${name}\n          image: ${image}\n          ports:\n            - containerPort: ${port}\n`,
      ),
    ],
    [
      'service.yaml',
      Buffer.from(`apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  ports:\n    - port: ${port}\n`),
    ],
  ]);
}

/** A bare repository with an initial commit on main; `publish` adds a published revision (tag) of a package. */
export class TestRepo {
  readonly bare: string;
  readonly work: WorkClone;
  private constructor(bare: string, work: WorkClone) {
    this.bare = bare;
    this.work = work;
  }
  static async create(root: string, name: string): Promise<TestRepo> {
    const { bare, work } = await createRepo(root, name);
    work.write('README.md', `${name}\n`);
    await work.commitAll('initial');
    await work.git('push', '-q', 'origin', 'main');
    return new TestRepo(bare, work);
  }
  get url(): string {
    return `file://${this.bare}`;
  }
  /** Commits the package on main and tags it `<pkg>/v<n>`, as an approval would. */
  async publish(pkg: string, files: Map<string, Buffer>, revision: number): Promise<string> {
    await this.work.git('pull', '-q', '--ff-only', 'origin', 'main');
    this.work.writePackage(pkg, files);
    const commit = await this.work.commitAll(`publish ${pkg} v${revision}`);
    await this.work.git('tag', `${pkg}/v${revision}`);
    await this.work.git('push', '-q', 'origin', 'main', `${pkg}/v${revision}`);
    return commit;
  }
  async show(ref: string, path: string): Promise<string> {
    return (await runGit(['--git-dir', this.bare, 'show', `${ref}:${path}`])).stdout.toString();
  }
  async refs(pattern = ''): Promise<string[]> {
    const out = (
      await runGit(['--git-dir', this.bare, 'for-each-ref', '--format=%(refname)', pattern])
    ).stdout.toString();
    return out.split('\n').filter(Boolean);
  }
  async message(ref: string): Promise<string> {
    return (await runGit(['--git-dir', this.bare, 'log', '-1', '--format=%B', ref])).stdout.toString();
  }
  /** A GitStore on this repository (for approving drafts the way `pvctl rpkg approve` does). */
  store(cacheDir: string, directory = ''): GitStore {
    return new GitStore({ url: this.url, cacheDir, directory });
  }
}

export function repository(name: string, url: string, deployment = false): KubeObject {
  return {
    apiVersion: API_VERSION,
    kind: 'Repository',
    metadata: { name, namespace: 'default' },
    spec: { type: 'git', deployment, git: { repo: url, branch: 'main' } },
  };
}

export function packageVariant(name: string, spec: PackageVariant['spec']): PackageVariant {
  return { apiVersion: API_VERSION, kind: 'PackageVariant', metadata: { name, namespace: 'default' }, spec };
}
