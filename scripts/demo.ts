// The main job on a built-in example, with no cluster (`make demo`): a blueprint repository and two
// deployment repositories on disk, two PackageVariants, clone drafts, publishing, then an upstream
// change and a downstream customization, and the upgrade draft that carries both; every draft is
// rendered (a set-namespace pipeline function per site).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'pvc-demo-'));
const keep = process.argv.includes('--keep');
const env = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Demo Person',
  GIT_AUTHOR_EMAIL: 'person@example.com',
  GIT_COMMITTER_NAME: 'Demo Person',
  GIT_COMMITTER_EMAIL: 'person@example.com',
  XDG_CACHE_HOME: join(dir, 'cache'),
};

function step(title: string): void {
  console.log(`\n\x1b[1m== ${title}\x1b[0m`);
}

function show(command: string, args: string[], options: { cwd?: string } = {}): string {
  const shown = [command, ...args].map((a) => a.replaceAll(dir, '$DEMO')).join(' ');
  console.log(`$ ${shown}`);
  const program = command === 'pvctl' ? process.execPath : command;
  const argv =
    command === 'pvctl' ? ['--disable-warning=ExperimentalWarning', join(root, 'cli', 'pvctl.ts'), ...args] : args;
  const run = spawnSync(program, argv, { cwd: options.cwd ?? dir, env, encoding: 'utf8' });
  const out = `${run.stdout}${run.stderr}`.trimEnd().replaceAll(dir, '$DEMO');
  if (out) console.log(out);
  if (run.status !== 0) throw new Error(`${shown} failed (exit ${run.status})`);
  return run.stdout;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env, encoding: 'utf8' });
}

function write(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

function blueprint(image: string, port: number): Record<string, string> {
  return {
    Kptfile:
      'apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: nginx\n  annotations:\n    config.kubernetes.io/local-config: "true"\ninfo:\n  description: nginx blueprint\n',
    'deployment.yaml': `# The web tier.\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx\nspec:\n  replicas: 1 # sites scale this\n  template:\n    spec:\n      containers:\n        - name: nginx\n          image: ${image}\n          ports:\n            - containerPort: ${port}\n`,
    'service.yaml': `apiVersion: v1\nkind: Service\nmetadata:\n  name: nginx\nspec:\n  ports:\n    - port: ${port}\n`,
  };
}

/** Commits a package on main and tags `<pkg>/v<n>`: a published revision in Porch's layout. */
function publish(work: string, pkg: string, files: Record<string, string>, revision: number, message: string): void {
  git(work, 'pull', '-q', '--ff-only', 'origin', 'main');
  rmSync(join(work, pkg), { recursive: true, force: true });
  for (const [name, content] of Object.entries(files)) write(join(work, pkg, name), content);
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', message);
  git(work, 'tag', `${pkg}/v${revision}`);
  git(work, 'push', '-q', 'origin', 'main', `${pkg}/v${revision}`);
}

function createRepo(name: string): { url: string; work: string } {
  const bare = join(dir, 'git', `${name}.git`);
  execFileSync('git', ['init', '-q', '--bare', '--initial-branch=main', bare], { env });
  const work = join(dir, 'work', name);
  execFileSync('git', ['clone', '-q', bare, work], { env, stdio: 'ignore' });
  git(work, 'symbolic-ref', 'HEAD', 'refs/heads/main');
  write(join(work, 'README.md'), `${name}\n`);
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'initial');
  git(work, 'push', '-q', 'origin', 'main');
  return { url: `file://${bare}`, work };
}

function manifests(urls: Record<string, string>): string {
  const repo = (name: string, deployment: boolean) =>
    `apiVersion: packagevariant.dev/v1alpha1\nkind: Repository\nmetadata:\n  name: ${name}\n  namespace: default\n` +
    `spec:\n  type: git\n  deployment: ${deployment}\n  git:\n    repo: ${urls[name]}\n    branch: main\n`;
  const variant = (site: string, region: string) =>
    `apiVersion: packagevariant.dev/v1alpha1\nkind: PackageVariant\nmetadata:\n  name: ${site}-nginx\n  namespace: default\n` +
    `spec:\n  upstream:\n    repo: blueprints\n    package: nginx\n  downstream:\n    repo: ${site}\n    package: nginx\n` +
    `  labels:\n    site: ${site}\n  packageContext:\n    data:\n      region: ${region}\n` +
    // A pipeline function, rendered into every draft (built in, no container): the site's namespace.
    `  pipeline:\n    mutators:\n      - image: gcr.io/kpt-fn/set-namespace:v0.4.1\n        configMap:\n          namespace: ${site}\n`;
  return [
    repo('blueprints', false),
    repo('edge-east', true),
    repo('edge-west', true),
    variant('edge-east', 'us-east1'),
    variant('edge-west', 'us-west1'),
  ].join('---\n');
}

try {
  step('1. A blueprint repository and two deployment repositories (bare git repositories on disk)');
  const blueprints = createRepo('blueprints');
  const east = createRepo('edge-east');
  const west = createRepo('edge-west');
  publish(blueprints.work, 'nginx', blueprint('nginx:1.25', 80), 1, 'nginx blueprint v1');
  console.log('published blueprint nginx/v1: image nginx:1.25, port 80');

  step('2. Two PackageVariants: the nginx blueprint for each edge site');
  const manifestFile = join(dir, 'manifests', 'fleet.yaml');
  write(manifestFile, manifests({ blueprints: blueprints.url, 'edge-east': east.url, 'edge-west': west.url }));
  console.log(
    readFileSync(manifestFile, 'utf8').replaceAll(dir, '$DEMO').split('---\n').slice(3).join('---\n').trimEnd(),
  );

  step('3. Reconcile: each variant gets a clone draft, rendered (set-namespace puts each site in its namespace)');
  show('pvctl', ['reconcile', '-f', manifestFile]);
  show('git', [
    '--git-dir',
    join(dir, 'git', 'edge-east.git'),
    'show',
    'drafts/nginx/packagevariant-1:nginx/service.yaml',
  ]);
  show('pvctl', ['rpkg', 'list', '--repo', east.url]);

  step('4. Publish both drafts (what a reviewer does: propose, then approve)');
  for (const url of [east.url, west.url]) {
    show('pvctl', ['rpkg', 'propose', 'nginx', 'packagevariant-1', '--repo', url]);
    show('pvctl', ['rpkg', 'approve', 'nginx', 'packagevariant-1', '--repo', url]);
  }

  step(
    '5. Upstream publishes v2 (image nginx:1.27, port 8080); the east site publishes its own customization (replicas: 5)',
  );
  publish(blueprints.work, 'nginx', blueprint('nginx:1.27', 8080), 2, 'nginx blueprint v2');
  git(east.work, 'pull', '-q', 'origin', 'main');
  const deployment = join(east.work, 'nginx', 'deployment.yaml');
  const customized = readFileSync(deployment, 'utf8').replace('replicas: 1', 'replicas: 5');
  const files = Object.fromEntries(
    ['Kptfile', 'deployment.yaml', 'service.yaml', 'package-context.yaml'].map((f) => [
      f,
      f === 'deployment.yaml' ? customized : readFileSync(join(east.work, 'nginx', f), 'utf8'),
    ]),
  );
  publish(east.work, 'nginx', files, 2, 'edge-east: scale nginx to 5');

  step('6. Reconcile again: upgrade drafts');
  show('pvctl', ['reconcile', '-f', manifestFile]);

  step('7. The east upgrade draft carries the upstream change and the site customization');
  git(east.work, 'fetch', '-q', 'origin');
  show(
    'git',
    [
      'diff',
      'origin/main',
      'origin/drafts/nginx/packagevariant-2',
      '--',
      'nginx/deployment.yaml',
      'nginx/service.yaml',
    ],
    { cwd: east.work },
  );
  show('git', ['show', 'origin/drafts/nginx/packagevariant-2:nginx/deployment.yaml'], { cwd: east.work });
  console.log(`\nAll of it is plain git in $DEMO=${keep ? dir : '(removed; run with --keep to look around)'}`);
} catch (error) {
  console.error(`demo: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
