// `pvctl rpkg`: package revisions on a git repository, in Porch's layout.
import { isUtf8 } from 'node:buffer';
import { existsSync, readdirSync } from 'node:fs';
import type { Command } from 'commander';
import {
  checkGitUrl,
  checkPackagePath,
  defaultGitRepository,
  describeFieldErrors,
  validateManifest,
  type GitRepository,
  type KubeObject,
} from '../../api/v1alpha1/index.ts';
import { revisionName as porchName } from '../../controllers/packagevariant/downstream.ts';
import {
  GitStore,
  defaultCacheDir,
  gitStoreOptions,
  type BatchResult,
  type GitBatch,
  type PackageRevision,
  type SecretLike,
} from '../../lib/git/index.ts';
import { branchRef } from '../../lib/git/refs.ts';
import { PackageDirError, writePackageDir, type PackageFiles, type PackageModes } from '../../lib/kpt/package.ts';
import { describeSource, loadManifests } from '../../lib/kube/manifest-reader.ts';
import { parseOutputFormat, serialize, table, UsageError, type OutputFormat } from '../output.ts';
import { InputError } from '../exit-codes.ts';

type Output = OutputFormat;

export interface RepoOptions {
  filename?: string[];
  repo?: string;
  branch?: string;
  directory?: string;
  name?: string;
  cacheDir?: string;
  output?: string;
}

export interface RpkgIo {
  out(line: string): void;
  env: NodeJS.ProcessEnv;
}

/** The repository: from a Repository manifest (with its Secret, if in the same files) or from --repo. */
export function repositoryFromOptions(
  options: RepoOptions,
  env: NodeJS.ProcessEnv,
): { name: string; git: GitRepository; secret?: SecretLike } {
  if (options.filename?.length && options.repo) throw new UsageError('use either -f or --repo, not both');
  if (options.filename?.length) {
    const { objects, errors } = loadManifests(options.filename);
    if (errors.length) throw new InputError(errors.map((e) => `${describeSource(e)}: ${e.message}`).join('\n'));
    const repos = objects
      .map((o) => o.object as KubeObject & { spec?: { git?: GitRepository } })
      .filter((o) => o.kind === 'Repository' && (!options.name || o.metadata?.name === options.name));
    if (repos.length !== 1) {
      throw new InputError(
        repos.length === 0
          ? `no Repository${options.name ? ` named ${options.name}` : ''} in ${options.filename.join(', ')}`
          : `several Repositories in ${options.filename.join(', ')}; choose one with --name`,
      );
    }
    const repo = repos[0]!;
    const problems = validateManifest(repo);
    if (problems.length) throw new InputError(`Repository ${repo.metadata?.name}: ${describeFieldErrors(problems)}`);
    if (!repo.spec?.git) throw new InputError(`Repository ${repo.metadata?.name}: spec.git is required`);
    const git = { ...repo.spec.git };
    if (options.branch) git.branch = options.branch;
    if (options.directory !== undefined) git.directory = options.directory;
    const secretName = git.secretRef?.name;
    const secret = secretName
      ? (objects
          .map((o) => o.object as KubeObject & SecretLike)
          .find((o) => o.kind === 'Secret' && o.metadata?.name === secretName) ?? secretFromEnv(env))
      : secretFromEnv(env);
    if (secretName && !secret) {
      throw new InputError(
        `Repository ${repo.metadata?.name}: Secret ${secretName} not found in the given files (or set PVCTL_GIT_USERNAME/PVCTL_GIT_PASSWORD)`,
      );
    }
    const secretProblems = secret && 'kind' in secret ? validateManifest(secret) : [];
    if (secretProblems.length) throw new InputError(`Secret ${secretName}: ${describeFieldErrors(secretProblems)}`);
    return checked(repo.metadata?.name ?? 'repository', git, secret);
  }
  if (!options.repo) throw new UsageError('a repository is required: -f repository.yaml or --repo URL');
  const git: GitRepository = {
    repo: options.repo,
    ...(options.branch ? { branch: options.branch } : {}),
    ...(options.directory ? { directory: options.directory } : {}),
  };
  // The name Porch would know it by (in revision names): --name, else the URL's last segment.
  const name =
    options.name ||
    options.repo
      .replace(/\/+$/, '')
      .replace(/\.git$/, '')
      .split(/[/:]/)
      .pop() ||
    'repository';
  return checked(name, git, secretFromEnv(env));
}

function checked(name: string, git: GitRepository, secret: SecretLike | undefined) {
  const problem = checkGitUrl(git.repo);
  if (problem) throw new UsageError(`repository URL: ${problem}`);
  const defaulted = defaultGitRepository(git);
  return { name, git: defaulted, ...(secret ? { secret } : {}) };
}

/** Credentials for --repo from the environment (never from the command line). */
function secretFromEnv(env: NodeJS.ProcessEnv): SecretLike | undefined {
  if (env.PVCTL_GIT_BEARER_TOKEN) return { stringData: { bearerToken: env.PVCTL_GIT_BEARER_TOKEN } };
  if (env.PVCTL_GIT_TOKEN)
    return { stringData: { token: env.PVCTL_GIT_TOKEN, username: env.PVCTL_GIT_USERNAME ?? '' } };
  if (env.PVCTL_GIT_PASSWORD !== undefined && env.PVCTL_GIT_USERNAME !== undefined) {
    return { stringData: { username: env.PVCTL_GIT_USERNAME, password: env.PVCTL_GIT_PASSWORD } };
  }
  return undefined;
}

/** Porch's PackageRevision name: <repo>.<package path with '/' → '.'>.<workspace>. */
export function revisionName(repoName: string, revision: PackageRevision): string {
  return porchName(repoName, revision.packageName, revision.workspace);
}

/** The refs of the highest published revision of each package. */
function latestRevisions(revisions: PackageRevision[]): Set<string> {
  const latest = new Map<string, PackageRevision>();
  for (const r of revisions) {
    if (r.revision > 0 && (latest.get(r.packagePath)?.revision ?? 0) < r.revision) latest.set(r.packagePath, r);
  }
  return new Set([...latest.values()].map((r) => r.ref));
}

/** Prints `revisions`; which is the latest is decided over `all` of them, so `get` and `list` agree. */
function printRevisions(
  io: RpkgIo,
  repoName: string,
  revisions: PackageRevision[],
  format: Output,
  all = revisions,
): void {
  const latest = latestRevisions(all);
  const records = revisions.map((r) => ({
    name: revisionName(repoName, r),
    package: r.packageName,
    workspace: r.workspace,
    revision: r.revision,
    latest: latest.has(r.ref),
    lifecycle: r.lifecycle,
    ref: r.ref,
    commit: r.commit,
    ...(r.tree ? { tree: r.tree } : {}),
    ...(r.owner ? { owner: r.owner } : {}),
    ...(r.error ? { error: r.error } : {}),
  }));
  if (format !== 'table') return io.out(serialize(records, format));
  if (records.length === 0) return io.out('No package revisions found.');
  const rows = [['NAME', 'PACKAGE', 'WORKSPACENAME', 'REVISION', 'LATEST', 'LIFECYCLE', 'COMMIT', 'OWNER']];
  for (const r of records) {
    rows.push([
      r.name,
      r.package,
      r.workspace,
      String(r.revision),
      String(r.latest),
      r.error ? `${r.lifecycle} (error)` : r.lifecycle,
      r.commit.slice(0, 12),
      r.owner ? `${r.owner.namespace}/${r.owner.name}` : '',
    ]);
  }
  io.out(table(rows));
}

function checkPackageName(packageName: string): void {
  const problem = checkPackagePath(packageName);
  if (problem) throw new UsageError(`invalid package name ${JSON.stringify(packageName)}: ${problem}`);
}

/** The revision Porch names `<repo>.<package path with dots>.<workspace>`. */
async function findByPorchName(store: GitStore, repoName: string, name: string): Promise<PackageRevision> {
  const match = (await store.listRevisions({})).find((r) => revisionName(repoName, r) === name);
  if (match) return match;
  throw new InputError(
    `no package or package revision named ${name} in ${store.url} ` +
      `(revision names here are ${repoName}.<package with dots>.<workspace>; ` +
      'give the Repository with -f, or its name with --name)',
  );
}

/** The revision a user means by `<package> <workspace | v<N> | branch>`, or by its Porch name alone. */
export async function findRevision(
  store: GitStore,
  packageName: string,
  selector: string | undefined,
  repoName: string,
): Promise<PackageRevision> {
  checkPackageName(packageName);
  if (selector === undefined) return findByPorchName(store, repoName, packageName);
  const revisions = await store.listRevisions({ packageName });
  const byNumber = /^v(\d+)$/.exec(selector);
  const match =
    (byNumber && revisions.find((r) => r.revision === Number(byNumber[1]))) ||
    revisions.find((r) => r.revision === 0 && r.workspace === selector) ||
    revisions.find((r) => r.revision > 0 && r.workspace === selector) ||
    revisions.find((r) => r.revision === -1 && r.workspace === selector);
  if (!match) throw new InputError(`no revision ${selector} of package ${packageName} in ${store.url}`);
  return match;
}

function writeFiles(dir: string, files: PackageFiles, modes: PackageModes): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new InputError(`${dir} exists and is not empty`);
  try {
    writePackageDir(dir, files, modes);
  } catch (e) {
    if (e instanceof PackageDirError) throw new UsageError(e.message);
    throw e;
  }
}

/** A package as printable values: text, or base64 for bytes that are not UTF-8; symlinks and gitlinks as objects. */
function printable(files: PackageFiles, modes: PackageModes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, content] of files) {
    out[path] = isUtf8(content) ? content.toString('utf8') : { base64: content.toString('base64') };
  }
  for (const [path, entry] of modes) {
    if (entry.kind === 'symlink') out[path] = { symlink: entry.target.toString('utf8') };
    else if (entry.kind === 'gitlink') out[path] = { gitlink: entry.commit };
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function printResults(io: RpkgIo, results: BatchResult[], format: Output): boolean {
  if (format !== 'table') io.out(serialize(results, format));
  else {
    for (const r of results) {
      const what = `${r.packageName ?? ''}${r.workspace ? ` ${r.workspace}` : ''}${r.revision ? ` v${r.revision}` : ''}`;
      io.out(`${r.op} ${what}: ${r.status}${r.message ? ` (${r.message})` : ''}`);
    }
  }
  return results.every((r) => r.status !== 'rejected' && r.status !== 'not-found');
}

export async function withStore<T>(
  options: RepoOptions,
  io: RpkgIo,
  fn: (store: GitStore, name: string) => Promise<T>,
): Promise<T> {
  const repo = repositoryFromOptions(options, io.env);
  const store = new GitStore(
    gitStoreOptions(repo.git, {
      cacheDir: options.cacheDir ?? defaultCacheDir(io.env),
      ...(repo.secret ? { secret: repo.secret } : {}),
    }),
  );
  try {
    await store.refresh();
    return await fn(store, repo.name);
  } finally {
    store.close();
  }
}

export function repoOptions(command: Command): Command {
  return command
    .option('-f, --filename <path...>', 'Repository manifest (and its Secret) to work on')
    .option('--name <name>', 'the Repository to use when the files hold several')
    .option(
      '--repo <url>',
      'repository URL (credentials from PVCTL_GIT_USERNAME/PVCTL_GIT_PASSWORD or PVCTL_GIT_TOKEN)',
    )
    .option('--branch <branch>', 'deployment branch (default main)')
    .option('--directory <dir>', 'directory holding the packages')
    .option('--cache-dir <dir>', 'where bare git caches are kept (default ~/.cache/packagevariant-controller/git)')
    .option('-o, --output <format>', 'table, yaml or json', 'table');
}

export function registerRpkg(program: Command, io: RpkgIo = { out: (l) => console.log(l), env: process.env }): void {
  const rpkg = program.command('rpkg').description('package revisions on a git repository (Porch layout)');
  // A usage problem or a failed operation sets a non-zero exit code; errors reach pvctl's handler.
  const run = async (fn: () => Promise<boolean | void>): Promise<void> => {
    const ok = await fn();
    process.exitCode = ok === false ? 1 : 0;
  };

  repoOptions(rpkg.command('list').description('list package revisions'))
    .option('--package <name>', 'only revisions of this package')
    .action((options: RepoOptions & { package?: string }) =>
      run(() => {
        const format = parseOutputFormat(options.output);
        return withStore(options, io, async (store, name) => {
          const filter = options.package ? { packageName: options.package } : {};
          printRevisions(io, name, await store.listRevisions(filter), format);
        });
      }),
    );

  repoOptions(
    rpkg
      .command('get <package> [revision]')
      .description('show the revisions of a package, one revision, or one by its Porch name (repo.package.workspace)'),
  ).action((packageName: string, selector: string | undefined, options: RepoOptions) =>
    run(() => {
      const format = parseOutputFormat(options.output);
      return withStore(options, io, async (store, name) => {
        checkPackageName(packageName);
        const all = await store.listRevisions({ packageName });
        if (selector !== undefined || all.length === 0) {
          const revision = await findRevision(store, packageName, selector, name);
          const siblings = all.length ? all : await store.listRevisions({ packageName: revision.packageName });
          return printRevisions(io, name, [revision], format, siblings);
        }
        printRevisions(io, name, all, format);
      });
    }),
  );

  repoOptions(
    rpkg
      .command('pull <package> <revision> [dir]')
      .description('read a package revision: into DIR, or printed as a map of file → content'),
  ).action((packageName: string, selector: string, dir: string | undefined, options: RepoOptions) =>
    run(() => {
      const format = parseOutputFormat(options.output);
      return withStore(options, io, async (store, name) => {
        const revision = await findRevision(store, packageName, selector, name);
        const locator = { packageName, commit: revision.commit };
        const [files, modes] = await Promise.all([store.readPackage(locator), store.readPackageModes(locator)]);
        if (dir) {
          writeFiles(dir, files, modes);
          const submodules = [...modes].filter(([, e]) => e.kind === 'gitlink').map(([p]) => p);
          io.out(
            `${files.size} file(s) written to ${dir}` +
              (submodules.length ? `; submodules left empty: ${submodules.join(', ')}` : ''),
          );
          return;
        }
        io.out(serialize(printable(files, modes), format === 'json' ? 'json' : 'yaml'));
      });
    }),
  );

  repoOptions(
    rpkg
      .command('diff <package> [revision] [base]')
      .description(
        'a unified diff of a package revision against BASE (another revision of the package; default: ' +
          'the package on the deployment branch), like `git diff BASE REVISION -- PACKAGE`',
      ),
  )
    .option('--name-only', 'only the paths that differ')
    .action(
      (
        packageName: string,
        selector: string | undefined,
        baseSelector: string | undefined,
        options: RepoOptions & { nameOnly?: boolean },
      ) =>
        run(() =>
          withStore(options, io, async (store, name) => {
            const revision = await findRevision(store, packageName, selector, name);
            const base =
              baseSelector !== undefined
                ? (await findRevision(store, revision.packageName, baseSelector, name)).commit
                : (await store.refs()).get(branchRef(store.branch));
            const diff = await store.diffPackage(revision.packageName, base, revision.commit);
            const text = options.nameOnly ? diff.files.join('\n') : diff.patch.replace(/\n$/, '');
            if (text) io.out(text);
          }),
        ),
    );

  const lifecycle = (command: string, description: string, add: (batch: GitBatch, revision: PackageRevision) => void) =>
    repoOptions(
      rpkg.command(`${command} <package> [revision]`).description(`${description} (or give its Porch name alone)`),
    ).action((packageName: string, selector: string | undefined, options: RepoOptions) =>
      run(() => {
        const format = parseOutputFormat(options.output);
        return withStore(options, io, async (store, name) => {
          const revision = await findRevision(store, packageName, selector, name);
          const batch = store.batch();
          add(batch, revision);
          return printResults(io, await batch.push(), format);
        });
      }),
    );

  const workspaceOf = (r: PackageRevision) => ({
    packageName: r.packageName,
    workspace: r.workspace,
    expectedCommit: r.commit,
  });
  const requireLifecycle = (r: PackageRevision, allowed: string[], what: string) => {
    if (!allowed.includes(r.lifecycle) || r.revision === -1) {
      throw new InputError(
        `cannot ${what} ${r.packageName} ${r.workspace}: it is ${r.lifecycle}${r.revision === -1 ? ' (branch)' : ''}`,
      );
    }
  };
  lifecycle('propose', 'Draft → Proposed', (batch, r) => {
    requireLifecycle(r, ['Draft'], 'propose');
    batch.propose(workspaceOf(r));
  });
  lifecycle('approve', 'Proposed → Published: merge into the branch and tag v<N>', (batch, r) => {
    requireLifecycle(r, ['Proposed'], 'approve');
    batch.approve(workspaceOf(r));
  });
  lifecycle('reject', 'Proposed → Draft, or DeletionProposed → Published', (batch, r) => {
    requireLifecycle(r, ['Proposed', 'DeletionProposed'], 'reject');
    if (r.lifecycle === 'Proposed') batch.reject(workspaceOf(r));
    else batch.undoProposeDelete({ packageName: r.packageName, revision: r.revision });
  });
  lifecycle('propose-delete', 'Published → DeletionProposed', (batch, r) => {
    requireLifecycle(r, ['Published'], 'propose deletion of');
    batch.proposeDelete({ packageName: r.packageName, revision: r.revision });
  });
  lifecycle('delete', 'delete a draft, proposed or published revision (the branch content stays)', (batch, r) => {
    if (r.revision === -1) throw new UsageError(`cannot delete the branch placeholder of ${r.packageName}`);
    if (r.revision > 0) batch.deletePublished({ packageName: r.packageName, revision: r.revision });
    else batch.deleteDraft(workspaceOf(r));
  });
}
