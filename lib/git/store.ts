// GitStore: everything the controllers need from one git repository, in Porch's layout.
// Reads go through the cache's long-lived `cat-file --batch`; writes are collected in a batch,
// written by one `fast-import` and pushed in one atomic, lease-protected push.
import { acquireRepoCache, releaseRepoCache, type RepoCache, type RefMap } from './cache.ts';
import { parseTree, type TreeEntry } from './cat-file.ts';
import type { GitCredentials } from './credentials.ts';
import { parseRemoteUrl } from './url.ts';
import { runGit } from './exec.ts';
import type { RefUpdate } from './push.ts';
import { parseCommit, parseCommitMessage, type Identity, type Owner, type ParsedCommit } from './message.ts';
import { readDraftHistory, type DraftHistory } from './draft-history.ts';
import { branchRef, inDirectory, parseRef, relativePackagePath, TAGS, HEADS, type Lifecycle } from './refs.ts';
import {
  assertBranchName,
  assertObjectId,
  assertPackagePath,
  checkFilePath,
  checkWorkspaceName,
  isObjectId,
  normalizeDirectory,
} from './validate.ts';
import { GitBatch, type PackageFileMap } from './batch.ts';
import type { PackageModes } from './writer.ts';

export type { PackageModes, SpecialEntry } from './writer.ts';

/** lib/kpt's KPTFILE: lib/git imports nothing of ours, so it knows the name for package discovery. */
const KPTFILE = 'Kptfile';
export const DEFAULT_IDENTITY: Identity = {
  name: 'packagevariant-controller',
  email: 'packagevariant-controller@localhost',
};

export type { PackageFileMap } from './batch.ts';

export interface GitStoreOptions {
  /** Repository URL (https, http, ssh, git, file, user@host:path, or an absolute path). */
  url: string;
  /** Deployment branch; default `main`. */
  branch?: string;
  /** Directory holding the packages; default the root. Leading/trailing '/' are ignored. */
  directory?: string;
  credentials?: GitCredentials;
  /** Root directory of the bare caches (one per URL). */
  cacheDir: string;
  /** Author of our commits (the Repository's spec.git.author/email). */
  author?: Partial<Identity>;
  committer?: Identity;
  /** Create the branch (one commit with a README.md) when it does not exist. */
  createBranch?: boolean;
  timeoutMs?: number;
  /** Push attempts before a batch gives up on rejected refs; default 3. */
  maxPushAttempts?: number;
  /**
   * Preview: batches plan and write their commits into the cache as usual but push nothing and
   * leave the cache's refs as the remote has them; what would have been pushed is in `previewed`.
   */
  dryRun?: boolean;
}

export class GitStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitStoreError';
  }
}

export interface PackageRevision {
  /** Path in the repository, including the repository directory (Porch's pkgFullPath). */
  packagePath: string;
  /** Path relative to the repository directory (Porch's packageName). */
  packageName: string;
  lifecycle: Lifecycle;
  /** Workspace; for published revisions from the `kpt:` annotation (fallback `v<N>`); the branch for placeholders. */
  workspace: string;
  /** 0 for drafts and proposed, N for published, -1 for the branch placeholder. */
  revision: number;
  /** The ref that holds it (for DeletionProposed: the tag). */
  ref: string;
  commit: string;
  /** Tree id of the package directory (undefined when the package is missing at that ref). */
  tree?: string;
  /** Drafts: the owner recorded by the newest controller commit; published: by the approval commit. */
  owner?: Owner;
  /** Drafts: commits on the draft no controller wrote for its owner (see draft-history.ts). */
  foreignCommits?: string[];
  /** Drafts: the merge conflicts recorded by the newest controller commit. */
  conflicts?: DraftHistory['conflicts'];
  /** Drafts: the commit the draft started from (on the deployment branch, when made by a controller). */
  base?: string;
  /** Set when the ref is broken (e.g. a tag whose tree has no Kptfile). */
  error?: string;
}

export interface ResolvedPackage {
  packageName: string;
  packagePath: string;
  /** The ref it was found at (full name), or the commit id when a commit was asked for. */
  ref: string;
  commit: string;
  /** Tree id of the package directory: a change of this id is a change of the package. */
  tree: string;
  /** The published revision number when `ref` is a published tag. */
  revision?: number;
}

/** Where to read a package: a full/short ref name, a published tag, `latest`, or a commit id. */
export interface PackageLocator {
  packageName: string;
  /** Default `latest` (the highest published revision). */
  ref?: string;
  commit?: string;
}

const MAX_COMMIT_CACHE = 5_000;
/** Bytes of package contents kept by tree id (see {@link GitStore.readTree}). */
const TREE_CACHE_BYTES = 2 * 2 ** 20;
/** Tree ids read once (a tree is kept from its second read on, so one-off reads cost no memory). */
const TREES_SEEN = 4_096;
/** Trees whose modes are kept (they are small: most trees have none). */
const TREE_MODES = 4_096;
/** First-parent commits of the deployment branch that bound a draft walk (see draft-history.ts). */
const BRANCH_HISTORY_LIMIT = 1_000;
const MAX_DRAFT_HISTORIES = 20_000;

export class GitStore {
  readonly cache: RepoCache;
  readonly branch: string;
  readonly directory: string;
  readonly author: Identity;
  readonly committer: Identity;
  readonly createBranch: boolean;
  readonly maxPushAttempts: number;
  readonly dryRun: boolean;
  /** Dry run: every ref update a push would have made, in order. */
  readonly previewed: RefUpdate[] = [];
  private readonly commits = new Map<string, Promise<ParsedCommit & { oid: string }>>();
  /** Owner trailers by commit id (null: none). */
  private readonly owners = new Map<string, Owner | null>();
  private closed = false;
  private readonly packagesByTree = new Map<string, Promise<string[]>>();
  /** Recently read package trees (LRU by insertion order), within TREE_CACHE_BYTES. */
  private readonly treeFiles = new Map<string, { files: PackageFileMap; bytes: number }>();
  private treeFileBytes = 0;
  private readonly treeReads = new Map<string, Promise<{ files: PackageFileMap; modes: PackageModes }>>();
  private readonly treesSeen = new Set<string>();
  /** Modes of recently read trees (LRU by insertion order), kept whether or not their files are. */
  private readonly treeModes = new Map<string, PackageModes>();
  private branchHistory?: { tip: string; commits: Promise<Set<string>> };
  /** Draft histories by head, package and workspace (commits are immutable; the branch only grows). */
  private readonly draftHistories = new Map<string, Promise<DraftHistory>>();

  constructor(options: GitStoreOptions) {
    this.branch = options.branch || 'main';
    assertBranchName(this.branch);
    this.directory = normalizeDirectory(options.directory);
    parseRemoteUrl(options.url);
    // Last: nothing may throw after the shared cache has been acquired.
    this.cache = acquireRepoCache({
      url: options.url,
      cacheDir: options.cacheDir,
      credentials: options.credentials,
      timeoutMs: options.timeoutMs,
    });
    this.author = {
      name: options.author?.name || DEFAULT_IDENTITY.name,
      email: options.author?.email || DEFAULT_IDENTITY.email,
    };
    this.committer = options.committer ?? DEFAULT_IDENTITY;
    this.createBranch = options.createBranch ?? false;
    this.maxPushAttempts = options.maxPushAttempts ?? 3;
    this.dryRun = options.dryRun ?? false;
  }

  get url(): string {
    return this.cache.url;
  }

  /** Releases the cache (its reader process ends when no other store of this process uses it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    releaseRepoCache(this.cache);
  }

  /** The remote's branches and tags without fetching (cheap change check). */
  lsRemote(): Promise<RefMap> {
    return this.cache.lsRemote();
  }

  /** Fetches what moved; creates the branch when allowed and missing. Returns the changed refs. */
  async refresh(): Promise<string[]> {
    const changed = await this.cache.refresh();
    if (this.createBranch && !(await this.ref(branchRef(this.branch)))) {
      await this.ensureBranch();
      changed.push(branchRef(this.branch));
    }
    return changed;
  }

  /** Refs as of the last refresh (a copy). */
  refs(): Promise<RefMap> {
    return this.cache.refs();
  }

  /** One ref as of the last refresh. */
  async ref(name: string): Promise<string | undefined> {
    return (await this.cache.refIndex()).get(name);
  }

  /**
   * A package between two commits of the cache as `git diff` shows it (`from` undefined: the
   * package did not exist), and the paths it changes.
   */
  async diffPackage(
    packageName: string,
    from: string | undefined,
    to: string,
  ): Promise<{ patch: string; files: string[] }> {
    const path = this.packagePath(packageName);
    const git = (args: string[], input?: string) =>
      runGit(args, {
        cwd: this.cache.gitDir,
        env: { GIT_DIR: this.cache.gitDir },
        ...(input !== undefined ? { input } : {}),
      });
    const base = from ?? (await git(['mktree'], '')).stdout.toString().trim();
    const diff = ['diff', '--no-color', '--no-ext-diff', '--no-textconv', '--no-renames', base, to, '--', path];
    const [patch, names] = await Promise.all([
      git(diff),
      git([...diff.slice(0, -4), '--name-only', '-z', ...diff.slice(-4)]),
    ]);
    return { patch: patch.stdout.toString(), files: names.stdout.toString().split('\0').filter(Boolean) };
  }

  /** Full package path for a package name relative to the repository directory. */
  packagePath(packageName: string): string {
    assertPackagePath(packageName);
    return this.directory ? `${this.directory}/${packageName}` : packageName;
  }

  private async ensureBranch(): Promise<void> {
    const batch = this.batch();
    batch.createBranch();
    const [result] = await batch.push();
    if (result && result.status !== 'created' && result.status !== 'already-exists') {
      throw new GitStoreError(
        `repository ${this.url}: cannot create branch ${this.branch}: ${result.message ?? result.status}`,
      );
    }
  }

  // ---- reading -------------------------------------------------------------------------------

  /** A commit (parsed, cached: commits are immutable and small). Peels annotated tags. */
  async commit(oid: string): Promise<ParsedCommit & { oid: string }> {
    // The read in flight is shared too: a fleet's variants ask for the same commits at once.
    let commit = this.commits.get(oid);
    if (!commit) {
      commit = this.readCommit(oid);
      if (this.commits.size >= MAX_COMMIT_CACHE) this.commits.clear();
      this.commits.set(oid, commit);
      commit.catch(() => this.commits.delete(oid));
    }
    return { ...(await commit) };
  }

  private async readCommit(oid: string): Promise<ParsedCommit & { oid: string }> {
    const object = await this.cache.reader.read(oid);
    if (!object) throw new GitStoreError(`repository ${this.url}: commit ${oid} not found`);
    if (object.type === 'tag') {
      const target = /^object ([0-9a-f]+)$/m.exec(object.content.toString('utf8'))?.[1];
      if (!target) throw new GitStoreError(`repository ${this.url}: tag object ${oid} is malformed`);
      return this.commit(target);
    }
    if (object.type !== 'commit')
      throw new GitStoreError(`repository ${this.url}: ${oid} is a ${object.type}, not a commit`);
    return { ...parseCommit(object.content), oid };
  }

  /** Tree id of `path` in a commit ('' = root), or undefined when there is no directory there. */
  async treeAt(commitOid: string, path: string): Promise<string | undefined> {
    const commit = await this.commit(commitOid);
    if (path === '') return commit.tree;
    const object = await this.cache.reader.read(`${commit.tree}:${path}`);
    return object?.type === 'tree' ? object.oid : undefined;
  }

  private async treeEntries(treeOid: string): Promise<TreeEntry[]> {
    const object = await this.cache.reader.read(treeOid);
    if (!object || object.type !== 'tree') throw new GitStoreError(`repository ${this.url}: tree ${treeOid} not found`);
    return parseTree(object.content, treeOid.length);
  }

  /** Tree id of a package at a commit, only when it holds a Kptfile. */
  async packageTree(commitOid: string, packageName: string): Promise<string | undefined> {
    return this.packageTreeAt(commitOid, this.packagePath(packageName));
  }

  private async packageTreeAt(commitOid: string, pkgPath: string): Promise<string | undefined> {
    const tree = await this.treeAt(commitOid, pkgPath);
    if (!tree) return undefined;
    const kptfile = (await this.treeEntries(tree)).find((e) => e.name === KPTFILE && e.type === 'blob');
    return kptfile ? tree : undefined;
  }

  /**
   * Reads every regular file below a tree into memory. Trees are immutable, so a tree read a second
   * time is kept (the last few, up to 2 MiB per store) and returned again with the same Buffer
   * objects: when a fleet of variants merges one upstream change, the upstream package is read from
   * git twice, and the merge's parse cache (keyed by Buffer) recognizes it. Trees read once (each
   * downstream package) are not kept. Callers must not modify the Buffers; the Map is their own.
   * Executables are included (their bit is in {@link readTreeModes}); symlinks and gitlinks are not.
   */
  async readTree(treeOid: string): Promise<PackageFileMap> {
    const cached = this.treeFiles.get(treeOid);
    if (cached) {
      this.treeFiles.delete(treeOid);
      this.treeFiles.set(treeOid, cached);
      return new Map(cached.files);
    }
    // Concurrent reads of one tree share one read (and so the same Buffers).
    let reading = this.treeReads.get(treeOid);
    if (!reading) {
      reading = this.readTreeFromGit(treeOid, true).finally(() => this.treeReads.delete(treeOid));
      this.treeReads.set(treeOid, reading);
    } else return new Map((await reading).files);
    const { files, modes } = await reading;
    this.rememberModes(treeOid, modes);
    let bytes = 0;
    for (const content of files.values()) bytes += content.length;
    const seenBefore = this.treesSeen.delete(treeOid);
    if (!seenBefore) {
      this.treesSeen.add(treeOid);
      if (this.treesSeen.size > TREES_SEEN) this.treesSeen.delete(this.treesSeen.values().next().value as string);
    } else if (bytes <= TREE_CACHE_BYTES / 2) {
      this.treeFiles.set(treeOid, { files, bytes });
      this.treeFileBytes += bytes;
      for (const [oid, entry] of this.treeFiles) {
        if (this.treeFileBytes <= TREE_CACHE_BYTES) break;
        this.treeFiles.delete(oid);
        this.treeFileBytes -= entry.bytes;
      }
    }
    return new Map(files);
  }

  /**
   * The entries below a tree that are not plain 100644 files: executables (their content is in
   * {@link readTree}), symlinks with their target bytes, gitlinks with their commit. Read in the same
   * walk as readTree and kept for every tree read; without a read of the files, only the trees and
   * the symlink blobs are read.
   */
  async readTreeModes(treeOid: string): Promise<PackageModes> {
    const cached = this.treeModes.get(treeOid);
    if (cached) {
      this.treeModes.delete(treeOid);
      this.treeModes.set(treeOid, cached);
      return new Map(cached);
    }
    const reading = this.treeReads.get(treeOid);
    const { modes } = reading ? await reading : await this.readTreeFromGit(treeOid, false);
    this.rememberModes(treeOid, modes);
    return new Map(modes);
  }

  private rememberModes(treeOid: string, modes: PackageModes): void {
    this.treeModes.delete(treeOid);
    this.treeModes.set(treeOid, modes);
    if (this.treeModes.size > TREE_MODES) this.treeModes.delete(this.treeModes.keys().next().value as string);
  }

  private async readTreeFromGit(
    treeOid: string,
    withContent: boolean,
  ): Promise<{ files: PackageFileMap; modes: PackageModes }> {
    const files: PackageFileMap = new Map();
    const modes: PackageModes = new Map();
    const blob = async (oid: string, path: string): Promise<Buffer> => {
      const object = await this.cache.reader.read(oid);
      if (!object) throw new GitStoreError(`repository ${this.url}: object ${oid} (${path}) missing`);
      return object.content;
    };
    const walk = async (oid: string, prefix: string): Promise<void> => {
      const entries = await this.treeEntries(oid);
      await Promise.all(
        entries.map(async (entry) => {
          const path = prefix + entry.name;
          // A crafted tree may hold names git itself would never write ('..', '.git', ...).
          const problem = checkFilePath(path);
          if (problem)
            throw new GitStoreError(
              `repository ${this.url}: tree ${treeOid} holds an unsafe path ${JSON.stringify(path)}: ${problem}`,
            );
          if (entry.type === 'tree') return walk(entry.oid, `${path}/`);
          if (entry.type === 'commit') modes.set(path, { kind: 'gitlink', commit: entry.oid });
          else if (entry.type === 'link') modes.set(path, { kind: 'symlink', target: await blob(entry.oid, path) });
          else {
            if (entry.mode === '100755') modes.set(path, { kind: 'executable' });
            if (withContent) files.set(path, await blob(entry.oid, path));
          }
        }),
      );
    };
    await walk(treeOid, '');
    return { files: sortedByPath(files), modes: sortedByPath(modes) };
  }

  /** Packages (names relative to the directory) in a commit: directories holding a Kptfile, not nested. */
  async discoverPackages(commitOid: string): Promise<string[]> {
    const root = await this.treeAt(commitOid, this.directory);
    if (!root) return [];
    // The walk in flight is shared: a fleet's variants ask about the same branch at once.
    let packages = this.packagesByTree.get(root);
    if (!packages) {
      packages = this.walkPackages(root);
      if (this.packagesByTree.size > 1000) this.packagesByTree.clear();
      this.packagesByTree.set(root, packages);
      packages.catch(() => this.packagesByTree.delete(root));
    }
    return [...(await packages)];
  }

  private async walkPackages(root: string): Promise<string[]> {
    const found: string[] = [];
    const walk = async (oid: string, prefix: string): Promise<void> => {
      const entries = await this.treeEntries(oid);
      if (prefix && entries.some((e) => e.name === KPTFILE && e.type === 'blob')) {
        found.push(prefix.slice(0, -1));
        return;
      }
      // Directories whose names cannot be part of a ref (or are unsafe) cannot hold packages.
      const dirs = entries.filter((e) => e.type === 'tree' && checkWorkspaceName(e.name) === undefined);
      await Promise.all(dirs.map((e) => walk(e.oid, `${prefix}${e.name}/`)));
    };
    await walk(root, '');
    return found.sort();
  }

  /** A package (full path) at `commitOid` that contains or lies inside `packageName`, if any. */
  async nestingConflict(commitOid: string, packageName: string): Promise<string | undefined> {
    const pkgPath = this.packagePath(packageName);
    for (const other of await this.discoverPackages(commitOid)) {
      const otherPath = this.packagePath(other);
      if (otherPath.startsWith(`${pkgPath}/`) || pkgPath.startsWith(`${otherPath}/`)) return otherPath;
    }
    return undefined;
  }

  /**
   * The package path, or a directory above it, when it is something other than a directory at
   * `commitOid` (a file, a symlink, a submodule): a draft there would replace it.
   */
  async fileInTheWay(commitOid: string, packageName: string): Promise<string | undefined> {
    const { tree } = await this.commit(commitOid);
    const parts = this.packagePath(packageName).split('/');
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join('/');
      const object = await this.cache.reader.read(`${tree}:${path}`);
      if (!object) return undefined;
      if (object.type !== 'tree') return path;
    }
    return undefined;
  }

  /** Repacks the cache and drops unreachable objects (e.g. from refused pushes); run it now and then. */
  maintain(): Promise<void> {
    return this.cache.maintain();
  }

  /** Resolves a ref name as a user would write it, to a full ref and commit. */
  async resolveRef(ref: string, packageName?: string): Promise<{ ref: string; commit: string } | undefined> {
    const refs = await this.cache.refIndex();
    if (ref.startsWith('refs/')) {
      const oid = refs.get(ref);
      return oid ? { ref, commit: oid } : undefined;
    }
    const candidates = [`${HEADS}${ref}`, `${TAGS}${ref}`];
    if (packageName && /^v\d+$/.test(ref)) candidates.unshift(`${TAGS}${this.packagePath(packageName)}/${ref}`);
    for (const candidate of candidates) {
      const oid = refs.get(candidate);
      if (oid) return { ref: candidate, commit: oid };
    }
    if (isObjectId(ref) && (await this.cache.reader.read(ref))?.type === 'commit') return { ref, commit: ref };
    return undefined;
  }

  /** The highest published revision of a package (Published or DeletionProposed). */
  async latestPublished(packageName: string): Promise<{ ref: string; commit: string; revision: number } | undefined> {
    const pkgPath = this.packagePath(packageName);
    let best: { ref: string; commit: string; revision: number } | undefined;
    for (const { ref, oid, parsed } of (await this.cache.refIndex()).ofPackage(pkgPath)) {
      if (parsed.kind === 'published' && parsed.revision > (best?.revision ?? 0)) {
        best = { ref, commit: oid, revision: parsed.revision };
      }
    }
    return best;
  }

  /**
   * Where a package is at a ref (default: its latest published revision): the commit and the
   * package's tree id. Upstream change detection compares the tree id, not the commit.
   */
  async resolvePackage(locator: PackageLocator): Promise<ResolvedPackage> {
    const packagePath = this.packagePath(locator.packageName);
    let found: { ref: string; commit: string; revision?: number } | undefined;
    const wanted = locator.commit ?? locator.ref ?? 'latest';
    if (locator.commit) {
      assertObjectId(locator.commit);
      found = { ref: locator.commit, commit: locator.commit };
    } else if (wanted === 'latest') {
      found = await this.latestPublished(locator.packageName);
    } else {
      found = await this.resolveRef(wanted, locator.packageName);
      const parsed = found ? parseRef(found.ref) : undefined;
      if (found && parsed?.kind === 'published') found = { ...found, revision: parsed.revision };
    }
    if (!found) {
      throw new GitStoreError(`repository ${this.url}: ref ${wanted} not found (package ${packagePath})`);
    }
    const commit = await this.commit(found.commit);
    const tree = await this.packageTreeAt(commit.oid, packagePath);
    if (!tree) {
      throw new GitStoreError(
        `repository ${this.url}: ref ${found.ref} (commit ${commit.oid.slice(0, 12)}) has no package at ${packagePath}`,
      );
    }
    return {
      packageName: locator.packageName,
      packagePath,
      ref: found.ref,
      commit: commit.oid,
      tree,
      ...(found.revision ? { revision: found.revision } : {}),
    };
  }

  /** Reads a package into memory. */
  async readPackage(locator: PackageLocator): Promise<PackageFileMap> {
    const resolved = await this.resolvePackage(locator);
    return this.readTree(resolved.tree);
  }

  /** The modes of a package (see {@link readTreeModes}). */
  async readPackageModes(locator: PackageLocator): Promise<PackageModes> {
    const resolved = await this.resolvePackage(locator);
    return this.readTreeModes(resolved.tree);
  }

  /** Reads many packages at once (the reads share one cat-file process). */
  readPackages(locators: readonly PackageLocator[]): Promise<PackageFileMap[]> {
    return Promise.all(locators.map((l) => this.readPackage(l)));
  }

  /** Who a draft belongs to and what it carries, from its own commits (see draft-history.ts). */
  async draftHistory(head: string, pkgPath: string, workspace: string): Promise<DraftHistory> {
    const key = `${head}\0${pkgPath}\0${workspace}`;
    let history = this.draftHistories.get(key);
    if (!history) {
      const branch = await this.deploymentBranchHistory();
      history = readDraftHistory(
        head,
        { pkgPath, workspace },
        (oid) => this.commit(oid),
        (oid) => branch.has(oid),
      );
      if (this.draftHistories.size >= MAX_DRAFT_HISTORIES) this.draftHistories.clear();
      this.draftHistories.set(key, history);
      history.catch(() => this.draftHistories.delete(key));
    }
    return history;
  }

  /** The deployment branch's first-parent commits (newest first, bounded), as of the last refresh. */
  private async deploymentBranchHistory(): Promise<Set<string>> {
    const tip = await this.ref(branchRef(this.branch));
    if (!tip) return new Set();
    if (this.branchHistory?.tip !== tip) {
      const commits = (async () => {
        const seen = new Set<string>();
        let oid: string | undefined = tip;
        while (oid && seen.size < BRANCH_HISTORY_LIMIT && !seen.has(oid)) {
          seen.add(oid);
          oid = (await this.commit(oid)).parents[0];
        }
        return seen;
      })();
      this.branchHistory = { tip, commits };
      commits.catch(() => (this.branchHistory = undefined));
    }
    return this.branchHistory.commits;
  }

  /**
   * The drafts, proposed and published revisions (of any package in the directory) whose owner has
   * this uid. Reads only commit messages, from caches after the first call.
   */
  async revisionsOwnedBy(uid: string): Promise<PackageRevision[]> {
    const refs = await this.cache.refIndex();
    const found: PackageRevision[] = [];
    for (const { ref, oid, parsed } of refs.all) {
      if (parsed.kind !== 'draft' && parsed.kind !== 'proposed' && parsed.kind !== 'published') continue;
      if (!inDirectory(parsed.pkgPath, this.directory)) continue;
      const common = {
        packagePath: parsed.pkgPath,
        packageName: relativePackagePath(parsed.pkgPath, this.directory),
        ref,
        commit: oid,
      };
      if (parsed.kind === 'published') {
        if (parsed.revision < 1 || refs.has(`${HEADS}deletionProposed/${parsed.pkgPath}/v${parsed.revision}`)) continue;
        const owner = await this.messageOwner(oid);
        if (owner?.uid === uid) {
          found.push({
            ...common,
            lifecycle: 'Published',
            workspace: `v${parsed.revision}`,
            revision: parsed.revision,
            owner,
          });
        }
        continue;
      }
      const history = await this.draftHistory(oid, parsed.pkgPath, parsed.workspace);
      if (history.owner?.uid !== uid) continue;
      found.push({
        ...common,
        lifecycle: parsed.kind === 'draft' ? 'Draft' : 'Proposed',
        workspace: parsed.workspace,
        revision: 0,
        owner: history.owner,
        foreignCommits: history.foreignCommits,
      });
    }
    return found;
  }

  private async messageOwner(oid: string): Promise<Owner | undefined> {
    if (!this.owners.has(oid)) {
      if (this.owners.size >= MAX_COMMIT_CACHE) this.owners.clear();
      this.owners.set(oid, parseCommitMessage((await this.commit(oid)).message).owner ?? null);
    }
    return this.owners.get(oid) ?? undefined;
  }

  /** Every package revision in the repository (optionally of one package). */
  async listRevisions(filter: { packageName?: string } = {}): Promise<PackageRevision[]> {
    const refs = await this.cache.refIndex();
    const onlyPath = filter.packageName ? this.packagePath(filter.packageName) : undefined;
    const tasks: Array<Promise<PackageRevision | PackageRevision[] | undefined>> = [];
    const candidates = onlyPath ? [...refs.branchRefs(), ...refs.ofPackage(onlyPath)] : refs.all;
    for (const { ref, oid, parsed } of candidates) {
      if (parsed.kind === 'branch') {
        if (parsed.branch === this.branch) tasks.push(this.placeholders(ref, oid, onlyPath));
        continue;
      }
      if (parsed.kind === 'other' || parsed.kind === 'deletionProposed') continue;
      if (!inDirectory(parsed.pkgPath, this.directory) || (onlyPath && parsed.pkgPath !== onlyPath)) continue;
      if (parsed.kind === 'published') {
        if (parsed.revision < 1) continue;
        const deletion = refs.has(`${HEADS}deletionProposed/${parsed.pkgPath}/v${parsed.revision}`);
        tasks.push(this.publishedRevision(ref, oid, parsed.pkgPath, parsed.revision, deletion));
      } else {
        tasks.push(this.draftRevision(ref, oid, parsed.pkgPath, parsed.workspace, parsed.kind));
      }
    }
    const revisions = (await Promise.all(tasks)).flat().filter((r): r is PackageRevision => r !== undefined);
    return revisions.sort(
      (a, b) =>
        (a.packagePath < b.packagePath ? -1 : a.packagePath > b.packagePath ? 1 : 0) ||
        a.revision - b.revision ||
        (a.workspace < b.workspace ? -1 : a.workspace > b.workspace ? 1 : 0),
    );
  }

  private async placeholders(ref: string, oid: string, onlyPath?: string): Promise<PackageRevision[]> {
    const names = await this.discoverPackages(oid);
    const result: PackageRevision[] = [];
    for (const packageName of names) {
      const packagePath = this.packagePath(packageName);
      if (onlyPath && packagePath !== onlyPath) continue;
      result.push({
        packagePath,
        packageName,
        lifecycle: 'Published',
        workspace: this.branch,
        revision: -1,
        ref,
        commit: oid,
        tree: await this.treeAt(oid, packagePath),
      });
    }
    return result;
  }

  private async draftRevision(
    ref: string,
    oid: string,
    packagePath: string,
    workspace: string,
    kind: 'draft' | 'proposed',
  ): Promise<PackageRevision | undefined> {
    const tree = await this.packageTreeAt(oid, packagePath);
    if (!tree) return undefined; // Porch skips drafts without a Kptfile
    const { owner, foreignCommits, conflicts, base } = await this.draftHistory(oid, packagePath, workspace);
    return {
      packagePath,
      packageName: relativePackagePath(packagePath, this.directory),
      lifecycle: kind === 'draft' ? 'Draft' : 'Proposed',
      workspace,
      revision: 0,
      ref,
      commit: oid,
      tree,
      ...(owner ? { owner } : {}),
      foreignCommits,
      ...(conflicts.length ? { conflicts } : {}),
      ...(base ? { base } : {}),
    };
  }

  private async publishedRevision(
    ref: string,
    oid: string,
    packagePath: string,
    revision: number,
    deletionProposed: boolean,
  ): Promise<PackageRevision> {
    const commit = await this.commit(oid);
    const message = parseCommitMessage(commit.message);
    const annotation = message.annotations.find((a) => a.package === packagePath && a.workspaceName);
    const tree = await this.packageTreeAt(commit.oid, packagePath);
    const owner = message.owner;
    return {
      packagePath,
      packageName: relativePackagePath(packagePath, this.directory),
      lifecycle: deletionProposed ? 'DeletionProposed' : 'Published',
      workspace: annotation?.workspaceName ?? `v${revision}`,
      revision,
      ref,
      commit: commit.oid,
      ...(tree ? { tree } : { error: `repository ${this.url}: tag ${ref} has no package (Kptfile) at ${packagePath}` }),
      ...(owner ? { owner } : {}),
    };
  }

  // ---- writing -------------------------------------------------------------------------------

  /** A batch of writes, pushed atomically with `batch.push()`. */
  batch(): GitBatch {
    return new GitBatch(this);
  }
}

function sortedByPath<T>(map: Map<string, T>): Map<string, T> {
  return new Map([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
