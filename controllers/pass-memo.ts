// Remembered no-change passes of local mode. A pass is a function of its input objects, its
// settings and the refs of the git repositories it reads. A pass that wrote nothing (no push, no
// error, no refused object, nothing a dry run would write) is remembered under a fingerprint of its
// input and settings, with the refs of every repository it read. The next pass with the same
// fingerprint asks each of those repositories for its refs (one `ls-remote` each, at once) and,
// when none moved, reports the remembered result: nothing is admitted, observed, read or merged,
// and the modules that would do it are not even loaded.
//
// A remembered pass reports the statuses of the pass it remembers (their times too) and records no
// events. Secret values are never written to the memo: the remembered Secrets get theirs from the
// input again. Not covered, as for the per-variant memo (packagevariant/memo.ts): a function behind
// the same image tag or executable path that now renders differently.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject, PackageVariant, PackageVariantSet } from '../api/v1alpha1/index.ts';
import { acquireRepoCache, releaseRepoCache, type RefMap } from '../lib/git/cache.ts';
import { credentialsFromSecret, type SecretLike } from '../lib/git/credentials.ts';
import type { RepositoryRead } from './packagevariant/git-stores.ts';

/** The memo's directory in local mode's cache directory: one file per remembered pass. */
export const PASS_MEMO_DIR = 'pass-memo';
/** Bump when what decides a pass, or the shape of its result, changes. */
const VERSION = 1;
/** Passes kept (one per distinct input and settings); the least recently used go first. */
const MAX_PASSES = 16;

export interface RememberedPass {
  /** Every object the pass left (LocalObjectStore.all()), Secrets without their values. */
  objects: KubeObject[];
  variants: PackageVariant[];
  sets: PackageVariantSet[];
}

/** One remembered pass; the file's name is its fingerprint, which includes VERSION. */
interface Entry {
  repositories: Array<{ url: string; secret?: { namespace: string; name: string }; refs: string }>;
  objects: KubeObject[];
  /** Positions in `objects` of the result's variants and sets (they are those objects). */
  variants: number[];
  sets: number[];
}

const identity = (o: KubeObject) => JSON.stringify([o.apiVersion, o.kind, o.metadata?.namespace, o.metadata?.name]);

/** What decides a pass besides git: its input objects (as given) and its settings. */
export function passFingerprint(input: unknown[], settings: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([VERSION, settings, input]))
    .digest('hex');
}

function refsPrint(refs: RefMap): string {
  const hash = createHash('sha256');
  for (const line of [...refs].map(([ref, oid]) => `${oid} ${ref}\n`).sort()) hash.update(line);
  return hash.digest('hex');
}

const isSecret = (o: unknown): o is SecretLike & KubeObject =>
  typeof o === 'object' && o !== null && (o as KubeObject).kind === 'Secret' && (o as KubeObject).apiVersion === 'v1';

function findSecret(input: unknown[], namespace: string, name: string): (SecretLike & KubeObject) | undefined {
  return input.find(
    (o): o is SecretLike & KubeObject =>
      isSecret(o) && o.metadata?.name === name && (o.metadata?.namespace ?? 'default') === namespace,
  );
}

export class PassMemo {
  private readonly dir: string;
  private readonly cacheDir: string;

  /** `dir`: where passes are remembered; `cacheDir`: the git caches whose `ls-remote` asks again. */
  constructor(dir: string, cacheDir: string) {
    this.dir = dir;
    this.cacheDir = cacheDir;
  }

  private file(fingerprint: string): string {
    return join(this.dir, `${fingerprint}.json`);
  }

  /** The remembered pass of `fingerprint` when no repository it read has moved since. */
  async recall(fingerprint: string, input: unknown[]): Promise<RememberedPass | undefined> {
    let entry: Entry;
    try {
      entry = JSON.parse(readFileSync(this.file(fingerprint), 'utf8')) as Entry;
    } catch {
      return undefined;
    }
    const unmoved = await Promise.all(
      entry.repositories.map(async ({ url, secret, refs }) => {
        const found = secret && findSecret(input, secret.namespace, secret.name);
        if (secret && !found) return false;
        try {
          const credentials = found ? credentialsFromSecret(found, `${secret.namespace}/${secret.name}`) : undefined;
          const cache = acquireRepoCache({ url, cacheDir: this.cacheDir, ...(credentials ? { credentials } : {}) });
          try {
            return refsPrint(await cache.lsRemote()) === refs;
          } finally {
            releaseRepoCache(cache);
          }
        } catch {
          return false; // unreachable now: the full pass says why
        }
      }),
    );
    if (!unmoved.every(Boolean)) return undefined;
    try {
      const now = new Date();
      utimesSync(this.file(fingerprint), now, now); // recently used: pruned last
    } catch {
      // a read-only cache still answers
    }
    const objects = entry.objects.map((o) => {
      if (!isSecret(o)) return o;
      const given = findSecret(input, o.metadata?.namespace ?? 'default', o.metadata?.name ?? '');
      return {
        ...o,
        ...(given?.data ? { data: given.data } : {}),
        ...(given?.stringData ? { stringData: given.stringData } : {}),
      };
    });
    const at = (i: number) => objects[i]!;
    return {
      objects,
      variants: entry.variants.map(at) as PackageVariant[],
      sets: entry.sets.map(at) as PackageVariantSet[],
    };
  }

  /**
   * Remembers a pass that wrote nothing, with the repositories it read (written atomically). Its
   * variants and sets are among its objects and are written once, as positions. Never throws: a
   * memo that cannot be written only means the next pass computes.
   */
  remember(fingerprint: string, reads: RepositoryRead[], pass: RememberedPass): void {
    const position = new Map(pass.objects.map((o, i) => [identity(o), i]));
    const variants = pass.variants.map((o) => position.get(identity(o)));
    const sets = pass.sets.map((o) => position.get(identity(o)));
    if ([...variants, ...sets].includes(undefined)) return;
    const entry: Entry = {
      repositories: reads.map(({ url, secret, refs }) => ({
        url,
        ...(secret ? { secret } : {}),
        refs: refsPrint(refs),
      })),
      objects: pass.objects.map((o) => {
        if (!isSecret(o)) return o;
        const { data: _data, stringData: _stringData, ...rest } = o as SecretLike & KubeObject;
        return rest;
      }),
      variants: variants as number[],
      sets: sets as number[],
    };
    const temporary = `${this.file(fingerprint)}.${process.pid}.tmp`;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileSync(temporary, JSON.stringify(entry), { mode: 0o600 });
      renameSync(temporary, this.file(fingerprint));
      this.prune();
    } catch {
      rmSync(temporary, { force: true });
    }
  }

  private prune(): void {
    const files = readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ path: join(this.dir, f), used: statSync(join(this.dir, f)).mtimeMs }))
      .sort((a, b) => b.used - a.used);
    for (const { path } of files.slice(MAX_PASSES)) rmSync(path, { force: true });
  }
}
