// One reconcile pass over objects read from YAML, with no cluster: `pvctl reconcile -f`, the demo,
// fleet upgrades from a CI job. Every variant is reconciled concurrently so that each repository
// receives its drafts in as few atomic pushes as possible.
import PQueue from 'p-queue';
import { PACKAGE_VARIANT_KIND, type KubeObject, type PackageVariant } from '../api/v1alpha1/index.ts';
import { LocalObjectStore } from './local-store.ts';
import { GitStores } from './packagevariant/git-stores.ts';
import { PushCoalescer } from './packagevariant/push-coalescer.ts';
import { PackageVariantReconciler } from './packagevariant/reconciler.ts';
import { keyOf, keyString, parseKey } from './store.ts';
import type { ConflictPolicy } from '../lib/merge/index.ts';

export interface LocalRunOptions {
  cacheDir?: string;
  /** Variants reconciled at once (and so the most drafts in one push). */
  concurrency?: number;
  conflictPolicy?: ConflictPolicy;
  onProgress?(done: number, total: number): void;
}

export interface LocalRunResult {
  store: LocalObjectStore;
  variants: PackageVariant[];
  /** Errors by variant key, for variants whose reconcile failed. */
  errors: Map<string, string>;
  pushes: number;
}

export async function reconcileLocally(objects: KubeObject[], options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const store = new LocalObjectStore(objects);
  const stores = new GitStores({ objects: store, ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}) });
  const pushes = new PushCoalescer({ maxDelayMs: 1000 });
  const reconciler = new PackageVariantReconciler({
    objects: store,
    stores,
    pushes,
    ...(options.conflictPolicy ? { conflictPolicy: options.conflictPolicy } : {}),
  });
  const keys = store
    .all()
    .filter((o) => o.kind === PACKAGE_VARIANT_KIND)
    .map((o) => keyString(keyOf(o)));
  const errors = new Map<string, string>();
  const queue = new PQueue({ concurrency: options.concurrency ?? 256 });
  let done = 0;
  try {
    await Promise.all(
      keys.map((key) =>
        queue.add(async () => {
          try {
            await pushes.track(() => reconciler.reconcile(key));
          } catch (error) {
            errors.set(key, error instanceof Error ? error.message : String(error));
          }
          options.onProgress?.(++done, keys.length);
        }),
      ),
    );
    await pushes.drain();
  } finally {
    stores.close();
  }
  const variants = await Promise.all(keys.map((key) => store.getPackageVariant(parseKey(key))));
  return { store, variants: variants.filter((v) => v !== undefined), errors, pushes: pushes.pushes };
}
