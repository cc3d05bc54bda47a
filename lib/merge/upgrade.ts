// Porch's `clone` and `upgrade` package tasks on in-memory packages: the building blocks the
// PackageVariant controller uses to create and upgrade a downstream package.
import { generatePackageContext, PACKAGE_CONTEXT_FILE } from '../kpt/context.ts';
import { ensureMergeKeys } from '../kpt/identity.ts';
import { Kptfile, type UpdateStrategy } from '../kpt/kptfile.ts';
import { KPTFILE, type PackageFiles } from '../kpt/package.ts';
import { Scalar, setField } from '../kpt/yaml.ts';
import { krmignoreOf } from './ignore.ts';
import { mergePackages } from './index.ts';
import type { MergeInput, MergeOptions, MergeResult } from './types.ts';

/** Where an upstream package revision lives: git repository, directory, ref and resolved commit. */
export interface UpstreamRevision {
  repo: string;
  directory: string;
  ref: string;
  commit: string;
}

export interface CloneOptions {
  /** `metadata.name` of the downstream Kptfile (default: the upstream's name). */
  name?: string;
  /** `upstream.updateStrategy` to record (default `resource-merge`). */
  updateStrategy?: UpdateStrategy;
  /**
   * For a deployment repository: write `package-context.yaml` (`data.name`, and `package-path`
   * when given), replacing any upstream one, as Porch's clone does.
   */
  packageContext?: { packagePath?: string };
}

/**
 * A new downstream package from an upstream revision (Porch `clone`): upstream's files, the
 * Kptfile's `upstream`/`upstreamLock` pointing at `source`, merge keys on every resource.
 */
export function clonePackage(
  upstream: PackageFiles,
  source: UpstreamRevision,
  options: CloneOptions = {},
): PackageFiles {
  const files: PackageFiles = new Map(upstream);
  const upstreamKptfile = upstream.get(KPTFILE);
  const kptfile = upstreamKptfile ? Kptfile.parse(upstreamKptfile) : Kptfile.create(options.name ?? 'package');
  if (options.name && kptfile.name !== options.name)
    setField(kptfile.section('metadata'), 'name', new Scalar(options.name));
  setUpstream(kptfile, source, options.updateStrategy ?? 'resource-merge');
  files.set(KPTFILE, Buffer.from(kptfile.toString(), 'utf8'));
  if (options.packageContext) {
    const context = generatePackageContext(
      kptfile.name ?? options.name ?? 'package',
      options.packageContext.packagePath,
    );
    files.set(PACKAGE_CONTEXT_FILE, Buffer.from(context, 'utf8'));
  }
  return withMergeKeys(files);
}

/**
 * Upgrades a downstream package (Porch `upgrade`): three-way merge, then `upstream`/`upstreamLock`
 * set to the new upstream revision (the local `updateStrategy` is kept) and merge keys re-added.
 */
export function upgradePackage(
  input: MergeInput,
  newUpstream: UpstreamRevision,
  options: MergeOptions = {},
): MergeResult {
  const result = mergePackages(input, options);
  const files: PackageFiles = new Map(result.files);
  const current = files.get(KPTFILE);
  if (current) {
    const kptfile = Kptfile.parse(current);
    const before = kptfile.toString();
    setUpstream(kptfile, newUpstream, kptfile.upstream?.updateStrategy ?? 'resource-merge');
    const after = kptfile.toString();
    if (after !== before) files.set(KPTFILE, Buffer.from(after, 'utf8'));
  }
  return { ...result, files: withMergeKeys(files) };
}

function setUpstream(kptfile: Kptfile, source: UpstreamRevision, updateStrategy: UpdateStrategy): void {
  const git = { repo: source.repo, directory: source.directory, ref: source.ref };
  kptfile.upstream = { type: 'git', git, updateStrategy };
  kptfile.upstreamLock = { type: 'git', git: { ...git, commit: source.commit } };
}

/** Merge keys on every resource, except in files the package's `.krmignore` names (kpt's reader skips them). */
function withMergeKeys(files: PackageFiles): PackageFiles {
  const ignored = krmignoreOf(files);
  if (!ignored) return ensureMergeKeys(files, { includeKptfile: true });
  const read: PackageFiles = new Map([...files].filter(([path]) => !ignored(path)));
  const marked = ensureMergeKeys(read, { includeKptfile: true });
  return new Map([...files].map(([path, content]) => [path, marked.get(path) ?? content]));
}
