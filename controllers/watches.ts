// Watches as data: each controller declares what it watches as a table of {informer, which changes
// are news, which keys they enqueue}, and `registerWatches` wires them. Handlers only enqueue.
import type { KubeObject, PackageVariant, Repository } from '../api/v1alpha1/index.ts';
import type { InformerEvent } from '../lib/kube/informer.ts';
import { keyOf, keyString } from './store.ts';

export interface WatchedInformer {
  on(event: InformerEvent, handler: (obj: KubeObject) => void): void;
}

export interface Watch {
  /** What is watched and why, for people reading the table. */
  name: string;
  informer: WatchedInformer;
  /**
   * A fingerprint of what matters of an object: an update that leaves it unchanged is no news
   * (e.g. the controller's own status writes). Without one, every event is news.
   */
  fingerprint?(obj: KubeObject): string;
  /** Called with every event before the keys are computed (indexes that the keys read). */
  index?(event: InformerEvent, obj: KubeObject): void;
  /** The keys a change enqueues. */
  keys(obj: KubeObject, event: InformerEvent): Iterable<string>;
}

const EVENTS: readonly InformerEvent[] = ['add', 'update', 'delete'];

export function registerWatches(watches: readonly Watch[], enqueue: (key: string) => void): void {
  for (const watch of watches) {
    const seen = new Map<string, string>();
    for (const event of EVENTS) {
      watch.informer.on(event, (obj) => {
        watch.index?.(event, obj);
        if (watch.fingerprint) {
          const key = keyString(keyOf(obj));
          const after = watch.fingerprint(obj);
          const before = seen.get(key);
          if (event === 'delete') seen.delete(key);
          else seen.set(key, after);
          if (event === 'update' && before === after) return;
        }
        for (const key of watch.keys(obj, event)) enqueue(key);
      });
    }
  }
}

/**
 * What a change of a controller's own object is news for: its spec (generation), its deletion and
 * its metadata (finalizers, labels, annotations: a rollout releases a variant by removing an
 * annotation). Status writes change none of these. Both kinds use this one filter.
 */
export function specAndMetadata(obj: KubeObject): string {
  const m = obj.metadata;
  return JSON.stringify([
    m?.generation,
    Boolean(m?.deletionTimestamp),
    m?.finalizers ?? [],
    m?.labels ?? {},
    m?.annotations ?? {},
  ]);
}

export const objectKey = (obj: KubeObject) => keyString(keyOf(obj));

/**
 * Which variants use which Repository and Secret, kept from the informer events (instead of
 * scanning a namespace on every change). Keys are `namespace/name`.
 */
export class UsageIndex {
  private readonly reposOf = new Map<string, Set<string>>();
  private readonly usersOfRepo = new Map<string, Set<string>>();
  private readonly secretOf = new Map<string, string>();
  private readonly reposOfSecret = new Map<string, Set<string>>();
  private readonly directSecretUsers = new Map<string, Set<string>>();
  private readonly directSecretOf = new Map<string, string>();

  variant(event: InformerEvent, pv: PackageVariant): void {
    const key = objectKey(pv);
    const { namespace } = keyOf(pv);
    for (const repo of this.reposOf.get(key) ?? []) this.usersOfRepo.get(repo)?.delete(key);
    this.reposOf.delete(key);
    const direct = this.directSecretOf.get(key);
    if (direct) this.directSecretUsers.get(direct)?.delete(key);
    this.directSecretOf.delete(key);
    if (event === 'delete') return;
    const repos = new Set(
      [pv.spec?.upstream?.repo, pv.spec?.downstream?.repo]
        .filter((r): r is string => Boolean(r))
        .map((name) => keyString({ namespace, name })),
    );
    this.reposOf.set(key, repos);
    for (const repo of repos) add(this.usersOfRepo, repo, key);
    const secret = (pv.spec?.upstream?.git ?? pv.spec?.upstream?.oci)?.secretRef?.name;
    if (secret) {
      const secretKey = keyString({ namespace, name: secret });
      this.directSecretOf.set(key, secretKey);
      add(this.directSecretUsers, secretKey, key);
    }
  }

  repository(event: InformerEvent, repo: Repository): void {
    const key = objectKey(repo);
    const before = this.secretOf.get(key);
    if (before) this.reposOfSecret.get(before)?.delete(key);
    this.secretOf.delete(key);
    const secret = (repo.spec?.type === 'oci' ? repo.spec.oci : repo.spec?.git)?.secretRef?.name;
    if (event === 'delete' || !secret) return;
    const secretKey = keyString({ namespace: keyOf(repo).namespace, name: secret });
    this.secretOf.set(key, secretKey);
    add(this.reposOfSecret, secretKey, key);
  }

  usersOfRepository(repo: KubeObject): string[] {
    return [...(this.usersOfRepo.get(objectKey(repo)) ?? [])];
  }

  usersOfSecret(secret: KubeObject): string[] {
    const key = objectKey(secret);
    const users = new Set(this.directSecretUsers.get(key) ?? []);
    for (const repo of this.reposOfSecret.get(key) ?? [])
      for (const user of this.usersOfRepo.get(repo) ?? []) users.add(user);
    return [...users];
  }
}

function add(map: Map<string, Set<string>>, key: string, value: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}
