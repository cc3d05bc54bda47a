// `pvctl history PACKAGE`: a downstream's revisions, the upstream revision each came from and who
// published it. `pvctl carried PACKAGE...`: what a downstream carries of its own against the
// upstream revision it is based on (the local side of its next merge), as fields or a diff; with
// several packages (or --all), the customizations they carry alike, candidates to move upstream.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { commitTimeString, identityOf } from '../../lib/git/message.ts';
import { defaultCacheDir } from '../../lib/git/repository.ts';
import { GitStore, type PackageRevision } from '../../lib/git/store.ts';
import { carriedFields, commonCarried, type CarriedField } from '../../lib/kpt/carried.ts';
import { ensureMergeKeys } from '../../lib/kpt/identity.ts';
import { parseKptfile, type UpstreamLock } from '../../lib/kpt/kptfile.ts';
import { KPTFILE, writePackageDir, type PackageFiles } from '../../lib/kpt/package.ts';
import { pullPackage } from '../../lib/oci/package.ts';
import { parseReference } from '../../lib/oci/reference.ts';
import { OCI_URL_PREFIX } from '../../controllers/repositories/oci-source.ts';
import { InputError, UsageError } from '../exit-codes.ts';
import { parseOutputFormat, serialize, table } from '../output.ts';
import { clientFromOptions } from './oci.ts';
import { findRevision, repoOptions, revisionName, withStore, type RepoOptions, type RpkgIo } from './rpkg.ts';

const consoleIo: RpkgIo = { out: (l) => console.log(l), env: process.env };

function lockOf(files: PackageFiles): UpstreamLock | undefined {
  const kptfile = files.get(KPTFILE);
  if (!kptfile) return undefined;
  try {
    return parseKptfile(kptfile).upstreamLock;
  } catch {
    return undefined;
  }
}

export interface HistoryEntry {
  name: string;
  lifecycle: string;
  revision: number;
  commit: string;
  time: string;
  by: string;
  owner?: string;
  upstream?: { repo: string; directory: string; ref: string; commit: string };
}

export async function packageHistory(store: GitStore, repoName: string, packageName: string): Promise<HistoryEntry[]> {
  const revisions = (await store.listRevisions({ packageName })).filter((r) => r.revision !== -1);
  if (revisions.length === 0) throw new InputError(`no revisions of package ${packageName} in ${store.url}`);
  const order = (r: PackageRevision) => (r.revision > 0 ? r.revision : Number.MAX_SAFE_INTEGER);
  const entries: HistoryEntry[] = [];
  for (const r of revisions.sort((a, b) => order(a) - order(b))) {
    const [commit, files] = await Promise.all([
      store.commit(r.commit),
      store.readPackage({ packageName, commit: r.commit }),
    ]);
    const lock = lockOf(files);
    entries.push({
      name: revisionName(repoName, r),
      lifecycle: r.lifecycle,
      revision: r.revision,
      commit: r.commit,
      time: commitTimeString(commit.time) ?? '',
      by: identityOf(commit.author),
      ...(r.owner ? { owner: `${r.owner.namespace}/${r.owner.name}` } : {}),
      ...(lock
        ? {
            upstream: {
              repo: lock.git.repo,
              directory: lock.git.directory ?? '',
              ref: lock.git.ref ?? '',
              commit: lock.git.commit,
            },
          }
        : {}),
    });
  }
  return entries;
}

/**
 * The upstream package at the downstream's lock, with the merge keys clone writes. An OCI upstream
 * (`oci://registry/repository`, digest as commit) is pulled with `pvctl oci`'s credentials and CA.
 */
async function upstreamAtLock(
  lock: UpstreamLock,
  cacheDir: string,
  oci: { caFile?: string; env: NodeJS.ProcessEnv },
): Promise<PackageFiles> {
  if (lock.git.repo.startsWith(OCI_URL_PREFIX)) {
    const image = parseReference(`${lock.git.repo.slice(OCI_URL_PREFIX.length)}@${lock.git.commit}`);
    const pulled = await pullPackage(clientFromOptions(oci.caFile ? { caFile: oci.caFile } : {}, oci.env), image);
    return ensureMergeKeys(pulled.files);
  }
  const store = new GitStore({ url: lock.git.repo, cacheDir });
  try {
    await store.refresh();
    const files = await store.readPackage({
      packageName: (lock.git.directory ?? '').replace(/^\/+|\/+$/g, ''),
      commit: lock.git.commit,
    });
    return ensureMergeKeys(files);
  } finally {
    store.close();
  }
}

/** `git diff --no-index` of the two packages written to a temporary directory. */
function unifiedDiff(upstream: PackageFiles, downstream: PackageFiles): string {
  const dir = mkdtempSync(join(tmpdir(), 'pvctl-carried-'));
  try {
    writePackageDir(join(dir, 'upstream'), upstream);
    writePackageDir(join(dir, 'downstream'), downstream);
    const r = spawnSync('git', ['diff', '--no-index', '--no-color', '--no-ext-diff', 'upstream', 'downstream'], {
      cwd: dir,
      encoding: 'utf8',
    });
    if (r.status !== 0 && r.status !== 1) throw new Error(`git diff: ${r.stderr}`);
    return r.stdout.replace(/\n$/, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const short = (c: string) => c.slice(0, 12);

export function registerHistory(program: Command, io: RpkgIo = consoleIo): void {
  repoOptions(
    program
      .command('history <package>')
      .description(
        'the revisions of a downstream package: the upstream revision each came from, who published it, its variant',
      ),
  ).action((packageName: string, options: RepoOptions) =>
    withStore(options, io, async (store, name) => {
      const format = parseOutputFormat(options.output);
      const entries = await packageHistory(store, name, packageName);
      if (format !== 'table') return io.out(serialize(format === 'json' ? { items: entries } : entries, format));
      const rows = [['REVISION', 'LIFECYCLE', 'TIME', 'BY', 'UPSTREAM', 'VARIANT']];
      for (const e of entries) {
        rows.push([
          e.revision > 0 ? `v${e.revision}` : e.name,
          e.lifecycle,
          e.time,
          e.by,
          e.upstream ? `${e.upstream.ref || e.upstream.directory}@${short(e.upstream.commit)}` : '-',
          e.owner ?? '-',
        ]);
      }
      io.out(table(rows));
    }),
  );
}

export function registerCarried(program: Command, io: RpkgIo = consoleIo): void {
  repoOptions(
    program
      .command('carried [packages...]')
      .description(
        "a downstream package's own customizations against the upstream revision it is based on (fields, or --diff); with several packages or --all, those they carry alike",
      ),
  )
    .option('--revision <revision>', 'the revision to look at (workspace or v<N>; default: the latest published)')
    .option('--diff', 'a unified diff against the upstream package instead of the field list')
    .option('--all', 'every package with a published revision in the repository')
    .option('--min <n>', 'with several packages: customizations carried by at least N of them', '2')
    .option('--ca-file <file>', 'an OCI upstream: trust this CA (PEM) for its registry (credentials as pvctl oci)')
    .action(
      (
        packages: string[],
        options: RepoOptions & { revision?: string; diff?: boolean; all?: boolean; min: string; caFile?: string },
      ) =>
        withStore(options, io, async (store, name) => {
          const format = parseOutputFormat(options.output);
          const min = Number(options.min);
          if (!Number.isInteger(min) || min < 1)
            throw new UsageError(`--min must be a positive integer, not ${options.min}`);
          const all = options.all
            ? [...new Set((await store.listRevisions()).filter((r) => r.revision > 0).map((r) => r.packageName))].sort()
            : packages;
          if (all.length === 0) throw new UsageError('name a package (or several), or give --all');
          if (options.diff && all.length !== 1) throw new UsageError('--diff shows one package');
          const cacheDir = options.cacheDir ?? defaultCacheDir(io.env);
          const byPackage = new Map<string, CarriedField[]>();
          for (const packageName of all) {
            const revision = options.revision
              ? await findRevision(store, packageName, options.revision, name)
              : await store.latestPublished(packageName);
            if (!revision) throw new InputError(`package ${packageName} has no published revision in ${store.url}`);
            const files = await store.readPackage({ packageName, commit: revision.commit });
            const lock = lockOf(files);
            if (!lock)
              throw new InputError(
                `package ${packageName}: its Kptfile has no upstreamLock (not made from an upstream)`,
              );
            const upstream = await upstreamAtLock(lock, cacheDir, {
              env: io.env,
              ...(options.caFile ? { caFile: options.caFile } : {}),
            });
            if (options.diff) {
              const text = unifiedDiff(upstream, files);
              if (text) io.out(text);
              return;
            }
            byPackage.set(packageName, carriedFields(upstream, files));
          }
          if (all.length === 1) {
            const fields = byPackage.get(all[0]!)!;
            if (format !== 'table') return io.out(serialize(format === 'json' ? { items: fields } : fields, format));
            const rows = [['FILE', 'RESOURCE', 'FIELD', 'UPSTREAM', 'DOWNSTREAM']];
            for (const f of fields) rows.push([f.file, f.resource, f.field, f.upstream ?? '-', f.downstream ?? '-']);
            return io.out(fields.length ? table(rows) : `${all[0]} carries nothing of its own`);
          }
          const common = commonCarried(byPackage, min);
          if (format !== 'table') return io.out(serialize(format === 'json' ? { items: common } : common, format));
          const rows = [['PACKAGES', 'FILE', 'RESOURCE', 'FIELD', 'UPSTREAM', 'DOWNSTREAM']];
          for (const c of common) {
            rows.push([
              `${c.packages.length}: ${c.packages.join(',')}`,
              c.file,
              c.resource,
              c.field,
              c.upstream ?? '-',
              c.downstream ?? '-',
            ]);
          }
          io.out(
            common.length ? table(rows) : `no customization is carried by ${min} or more of ${all.length} packages`,
          );
        }),
    );
}
