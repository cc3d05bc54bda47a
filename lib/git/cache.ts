// A bare cache repository per remote URL. Remote branches and tags are mirrored under the same
// names (refs/heads/*, refs/tags/*); `refresh` asks `ls-remote` what the remote has, fetches only
// the refs that moved (or just moves the local ref when the commit is already here, e.g. after our
// own push), and deletes local refs the remote no longer has. When many refs moved (a first fetch,
// a fleet pushed by someone else) it fetches `refs/heads/*` and `refs/tags/*` by pattern instead:
// git matches each explicit refspec against every remote ref, so 40,000 of them never finish.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CatFileBatch } from './cat-file.ts';
import { networkEnv, type GitCredentials } from './credentials.ts';
import { GitError, runGit } from './exec.ts';
import { networkTimeoutMs } from './limits.ts';
import { RefIndex } from './refs.ts';
import { parseRemoteUrl, type RemoteUrl } from './url.ts';

export type RefMap = Map<string, string>;

/**
 * Above this many moved refs, `refresh` fetches by pattern. An explicit refspec costs ~0.4 µs per
 * remote ref, a pattern fetch ~35 µs per remote ref (git 2.39, 40,000 refs): equal at ~80 refs.
 */
export const PATTERN_FETCH_MIN_REFS = 64;
const MIRROR_REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'];

export interface RepoCacheOptions {
  url: string;
  /** Root of all caches; each URL gets `<cacheDir>/<sha256(url)[0:16]>.git`. */
  cacheDir: string;
  credentials?: GitCredentials;
  /** Timeout of a network command moving no refs; default {@link gitLimits}().timeoutMs. */
  timeoutMs?: number;
}

/** Serializes the async operations that change a cache repository. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export function cachePathFor(cacheDir: string, url: string): string {
  return join(cacheDir, `${createHash('sha256').update(url).digest('hex').slice(0, 16)}.git`);
}

const shared = new Map<string, { cache: RepoCache; users: number }>();

/**
 * The cache for a URL, shared by every store in this process that uses the same cache directory,
 * URL and credentials (one mutex, one snapshot, one reader per bare repository).
 * Call `releaseRepoCache` when done.
 */
export function acquireRepoCache(options: RepoCacheOptions): RepoCache {
  const key = `${cachePathFor(options.cacheDir, options.url)}\0${createHash('sha256')
    .update(JSON.stringify(options.credentials ?? null))
    .digest('hex')}`;
  let entry = shared.get(key);
  if (!entry) {
    entry = { cache: new RepoCache(options), users: 0 };
    shared.set(key, entry);
  }
  entry.users++;
  return entry.cache;
}

export function releaseRepoCache(cache: RepoCache): void {
  for (const [key, entry] of shared) {
    if (entry.cache !== cache) continue;
    if (--entry.users <= 0) {
      shared.delete(key);
      cache.close();
    }
    return;
  }
  cache.close();
}

export class RepoCache {
  readonly remote: RemoteUrl;
  readonly gitDir: string;
  readonly reader: CatFileBatch;
  private readonly cacheDir: string;
  private readonly credentials: GitCredentials | undefined;
  private readonly timeoutMs: number | undefined;
  private readonly mutex = new Mutex();
  private initialized: Promise<void> | undefined;
  /** The remote's refs as of the last refresh (equal to the local mirror). */
  private snapshot: RefMap | undefined;
  /** The snapshot parsed and indexed, built on first use after each change. */
  private index: RefIndex | undefined;
  /** Whether the refs changed after they were first read in this process (a refresh that moved some, or our push). */
  private moved = false;

  constructor(options: RepoCacheOptions) {
    this.remote = parseRemoteUrl(options.url);
    this.cacheDir = options.cacheDir;
    this.gitDir = cachePathFor(options.cacheDir, options.url);
    this.credentials = options.credentials;
    this.timeoutMs = options.timeoutMs;
    this.reader = new CatFileBatch(this.gitDir);
  }

  get url(): string {
    return this.remote.url;
  }

  /** True once the refs differ from those first read: what was read before and after may disagree. */
  get refsMoved(): boolean {
    return this.moved;
  }

  /** The refs of the last refresh, without asking the remote; undefined before the first (or after it failed). */
  get lastRefs(): RefMap | undefined {
    return this.snapshot && new Map(this.snapshot);
  }

  /** Runs `fn` exclusively (no other write or refresh of this cache meanwhile). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(fn);
  }

  /** Creates the bare repository on first use (atomically: built aside, then renamed). */
  init(): Promise<void> {
    this.initialized ??= (async () => {
      if (existsSync(join(this.gitDir, 'HEAD'))) return;
      await mkdir(this.cacheDir, { recursive: true, mode: 0o700 });
      const temp = `${this.gitDir}.tmp-${process.pid}-${Date.now()}`;
      await runGit(['init', '--quiet', '--bare', '--end-of-options', temp]);
      // No automatic gc (it could run during a batch), no reflogs in the cache. Written directly:
      // the file was just created by git init, and this saves three processes per cache.
      await appendFile(
        join(temp, 'config'),
        '[gc]\n\tauto = 0\n[core]\n\tlogAllRefUpdates = false\n[fetch]\n\twriteCommitGraph = false\n',
      );
      try {
        await rename(temp, this.gitDir);
      } catch (e) {
        await rm(temp, { recursive: true, force: true });
        if (!existsSync(join(this.gitDir, 'HEAD'))) throw e;
      }
    })();
    return this.initialized;
  }

  /** Timeout of a network command of this cache that moves `refs` refs (see lib/git/limits.ts). */
  networkTimeoutMs(refs: number): number {
    return networkTimeoutMs(refs, this.timeoutMs);
  }

  /**
   * Timeout of a push of `refs` ref updates. git checks every lease against every ref the remote
   * advertises (~2 µs a pair: 500 leases against 10,000 refs take ~11 s), so beyond 10,000 refs
   * in the remote the allowance per pushed ref grows with them.
   */
  pushTimeoutMs(refs: number): number {
    return networkTimeoutMs(refs * Math.max(1, (this.snapshot?.size ?? 0) / 10_000), this.timeoutMs);
  }

  /** Runs a network git command with credentials in the environment only. */
  async network<T>(fn: (env: Record<string, string>, secrets: string[]) => Promise<T>): Promise<T> {
    const net = await networkEnv(this.remote, this.credentials, {
      knownHostsFile: join(this.cacheDir, 'known_hosts'),
    });
    try {
      return await fn({ GIT_DIR: this.gitDir, ...net.env }, net.secrets);
    } finally {
      await net.dispose();
    }
  }

  /** The remote's branches and tags (`git ls-remote`), one network round trip. */
  async lsRemote(): Promise<RefMap> {
    await this.init();
    const stdout = await this.network(async (env, secrets) => {
      const args = ['ls-remote', '--refs', '--end-of-options', this.url, 'refs/heads/*', 'refs/tags/*'];
      try {
        return (await runGit(args, { cwd: this.gitDir, env, secrets, timeoutMs: this.networkTimeoutMs(0) })).stdout;
      } catch (e) {
        throw new GitError(`repository ${this.url} is not reachable: ${explain(e)}`, (e as GitError).exitCode, '');
      }
    });
    return parseRefLines(stdout.toString('utf8'));
  }

  /** Local mirror refs. */
  async localRefs(): Promise<RefMap> {
    await this.init();
    const { stdout } = await runGit(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads', 'refs/tags'], {
      cwd: this.gitDir,
      env: { GIT_DIR: this.gitDir },
    });
    return parseRefLines(stdout.toString('utf8').replace(/ /g, '\t'));
  }

  /** The refs as of the last refresh (refreshing first if there was none). */
  async refs(): Promise<RefMap> {
    if (!this.snapshot) await this.refresh();
    return new Map(this.snapshot);
  }

  /** The refs as of the last refresh, indexed (refreshing first if there was none); never changes once handed out. */
  async refIndex(): Promise<RefIndex> {
    if (!this.snapshot) await this.refresh();
    this.index ??= new RefIndex(new Map(this.snapshot));
    return this.index;
  }

  /** Brings the mirror up to date with the remote; returns the refs that changed. */
  refresh(): Promise<string[]> {
    return this.exclusive(async () => {
      const remote = await this.lsRemote();
      const local = this.snapshot ?? (await this.localRefs());
      const moved = [...remote].filter(([ref, oid]) => local.get(ref) !== oid);
      if (this.snapshot && (moved.length || remote.size !== this.snapshot.size)) this.moved = true;
      if (moved.length > PATTERN_FETCH_MIN_REFS) {
        // Everything the remote has, pruned to it; the mirror is then what the remote had a moment
        // later than ls-remote, so the snapshot is read back from it.
        await this.fetch(['--prune', '--end-of-options', this.url, ...MIRROR_REFSPECS], moved.length);
        this.snapshot = await this.localRefs();
        this.index = undefined;
        return changedRefs(local, this.snapshot);
      }
      const toFetch: string[] = [];
      const updates: string[] = [];
      for (const [ref, oid] of moved) {
        if (await this.hasCommitObject(oid)) updates.push(`update ${ref} ${oid}\n`);
        else toFetch.push(ref);
      }
      // Deletions first, so a removed ref cannot block a new one with an overlapping name.
      await this.updateLocalRefs([...local.keys()].filter((ref) => !remote.has(ref)).map((ref) => `delete ${ref}\n`));
      if (toFetch.length) {
        const input = toFetch.map((ref) => `+${ref}:${ref}\n`).join('');
        await this.fetch(['--stdin', '--end-of-options', this.url], toFetch.length, input);
      }
      await this.updateLocalRefs(updates);
      this.snapshot = remote;
      this.index = undefined;
      return changedRefs(local, remote);
    });
  }

  private async fetch(args: string[], refs: number, input?: string): Promise<void> {
    await this.network((env, secrets) =>
      runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', ...args], {
        cwd: this.gitDir,
        env,
        secrets,
        timeoutMs: this.networkTimeoutMs(refs),
        ...(input === undefined ? {} : { input }),
      }).catch((e: unknown) => {
        throw new GitError(`fetch from ${this.url} failed: ${explain(e)}`, (e as GitError).exitCode, '');
      }),
    );
  }

  /** Applies `update-ref --stdin` commands to the mirror in one transaction. */
  async updateLocalRefs(commands: readonly string[]): Promise<void> {
    if (commands.length === 0) return;
    await runGit(['update-ref', '--no-deref', '--stdin'], {
      cwd: this.gitDir,
      env: { GIT_DIR: this.gitDir },
      input: `start\n${commands.join('')}prepare\ncommit\n`,
    });
  }

  /** Records refs we pushed successfully (mirror and snapshot) without asking the remote. */
  async recordPushed(updates: ReadonlyArray<{ ref: string; newOid: string | null }>): Promise<void> {
    await this.updateLocalRefs(updates.map((u) => (u.newOid ? `update ${u.ref} ${u.newOid}\n` : `delete ${u.ref}\n`)));
    if (updates.length) this.moved = true;
    if (this.snapshot) {
      this.index = undefined;
      for (const u of updates) {
        if (u.newOid) this.snapshot.set(u.ref, u.newOid);
        else this.snapshot.delete(u.ref);
      }
    }
  }

  /** `git gc` under the cache lock (nothing half-written can be pruned meanwhile). */
  maintain(): Promise<void> {
    return this.exclusive(async () => {
      await this.init();
      await runGit(['gc', '--quiet', '--prune=now'], { cwd: this.gitDir, env: { GIT_DIR: this.gitDir } });
    });
  }

  private async hasCommitObject(oid: string): Promise<boolean> {
    const object = await this.reader.read(oid);
    return object !== undefined && (object.type === 'commit' || object.type === 'tag');
  }

  close(): void {
    this.reader.close();
  }
}

/** Refs whose value differs between two ref maps (added, moved or deleted), sorted. */
function changedRefs(before: RefMap, after: RefMap): string[] {
  const changed = [...after].filter(([ref, oid]) => before.get(ref) !== oid).map(([ref]) => ref);
  for (const ref of before.keys()) if (!after.has(ref)) changed.push(ref);
  return changed.sort();
}

function parseRefLines(text: string): RefMap {
  const refs: RefMap = new Map();
  for (const line of text.split('\n')) {
    const [oid, ref] = line.split('\t');
    if (oid && ref) refs.set(ref, oid);
  }
  return refs;
}

// git's generic advice after a failed connection; the cause is in the lines before it.
const BOILERPLATE = /^(Please make sure you have the correct access rights|and the repository exists\.)/;

function explain(e: unknown): string {
  const stderr = (e as GitError).stderr;
  if ((e as GitError).exitCode === null || !stderr) return (e as Error).message;
  const lines = stderr
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !BOILERPLATE.test(l));
  return lines.slice(-3).join('; ');
}
