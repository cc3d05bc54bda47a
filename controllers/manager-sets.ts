// Controller mode for PackageVariantSets: the set's own work queue and workers, fed by the set
// informer and by the watches a set needs (Porch watches none of the first two): Repositories in
// its namespace, objects of the kinds its `objectSelector` targets select, and its generated
// variants — status included, since a variant's progress is what moves a rollout on. Handlers only
// enqueue; the Manager owns start, readiness and shutdown.
import type { Logger } from 'pino';
import {
  PACKAGE_VARIANT_SET_KIND,
  PACKAGE_VARIANT_SET_LABEL,
  UPGRADE_HELD_REASON,
  type KubeObject,
  type PackageVariant,
  type PackageVariantSet,
} from '../api/v1alpha1/index.ts';
import { getCondition } from '../lib/kube/conditions.ts';
import { describeError } from '../lib/kube/informer.ts';
import { runWorkers, WorkQueue, type Workers } from '../lib/kube/workqueue.ts';
import { Metrics } from '../lib/metrics/metrics.ts';
import { ConflictError } from './errors.ts';
import { instrumentReconcile } from './instrumented-reconcile.ts';
import type { KubeObjectStore } from './kube-store.ts';
import {
  PackageVariantSetReconciler,
  type SetObservation,
  type SetReconcilerOptions,
} from './packagevariantset/reconciler.ts';
import { SetSettling } from './packagevariantset/settling.ts';
import { keyOf, keyString, parseKey, type GroupVersionKind } from './store.ts';
import { objectKey, registerWatches, specAndMetadata, type Watch } from './watches.ts';

export interface SetControllerOptions {
  store: KubeObjectStore;
  logger: Logger;
  /** Where the reconcile and work queue metrics go (default: a registry of its own). */
  metrics?: Metrics;
  /** Set reconciles running at once (default 2). */
  concurrency?: number;
  /** Reconciles these variants (the PackageVariant queue). */
  enqueueVariants(keys: string[]): void;
  /** The set reconciler's look at the upstream revision in git. */
  findUpstream?: SetReconcilerOptions['findUpstream'];
  celLimits?: SetReconcilerOptions['celLimits'];
}

const kindId = (gvk: GroupVersionKind) => `${gvk.apiVersion}/${gvk.kind}`;

/** How long a set waits at most for its variants to look at an upstream change. */
const SETTLE_TIMEOUT_MS = 30_000;

const CONTROLLER = 'packagevariantset';

export class SetController {
  readonly queue: WorkQueue;
  /** Reconciles started, by set key (tests). */
  readonly reconciles = new Map<string, number>();
  private readonly store: KubeObjectStore;
  private readonly log: Logger;
  private readonly concurrency: number;
  private readonly metrics: Metrics;
  private readonly reconciler: PackageVariantSetReconciler;
  /** What each set's last reconcile said it uses. */
  private readonly observations = new Map<string, SetObservation>();
  /** Generated variant key → set key (from the observations). */
  private readonly owners = new Map<string, string>();
  /** Kinds selected by object targets whose informer is started (or starting). */
  private readonly watchedKinds = new Set<string>();
  private readonly settling: SetSettling;
  /** Variants whose status says an upgrade waits for the rollout. */
  private readonly heldUpgrades = new Set<string>();
  private readonly enqueueVariants: (keys: string[]) => void;
  private workers: Workers | undefined;

  constructor(options: SetControllerOptions) {
    this.store = options.store;
    this.log = options.logger.child({ controller: CONTROLLER });
    this.concurrency = options.concurrency ?? 2;
    this.metrics = options.metrics ?? new Metrics({ defaultMetrics: false });
    this.queue = new WorkQueue({ hooks: this.metrics.workQueueHooks(CONTROLLER) });
    this.enqueueVariants = options.enqueueVariants;
    this.settling = new SetSettling({
      timeoutMs: SETTLE_TIMEOUT_MS,
      onSettled: (setKey, timedOut) => {
        if (timedOut) this.log.debug({ key: setKey }, 'variants did not all report on the upstream change in time');
        this.queue.add(setKey);
      },
      cachedVersion: (key) => {
        const { name, namespace } = parseKey(key);
        return this.store.packageVariants.get(name, namespace)?.metadata?.resourceVersion;
      },
    });
    this.reconciler = new PackageVariantSetReconciler({
      objects: this.store,
      observe: (key, observation) => this.observe(key, observation),
      metrics: this.metrics,
      ...(options.findUpstream ? { findUpstream: options.findUpstream } : {}),
      ...(options.celLimits ? { celLimits: options.celLimits } : {}),
    });
  }

  /** What the set controller watches; register before the store's informers start, so that their initial adds arrive. */
  private watches(): Watch[] {
    return [
      {
        name: 'PackageVariantSets: their spec, deletion and metadata (not their status)',
        informer: this.store.packageVariantSets,
        fingerprint: specAndMetadata,
        keys: (pvs) => [objectKey(pvs)],
      },
      {
        name: 'generated PackageVariants, status included: their progress moves the rollout on',
        informer: this.store.packageVariants,
        index: (event, pv) => {
          this.cached(pv);
          if (event !== 'delete') this.noticeHeldUpgrade(pv as PackageVariant);
          else this.heldUpgrades.delete(objectKey(pv));
        },
        keys: (pv) => {
          const owner = this.ownerOf(pv);
          return owner ? [owner] : [];
        },
      },
      {
        name: 'Repositories: the sets of their namespace whose targets or templates read Repositories',
        informer: this.store.repositories,
        keys: (repo) => this.setsIn(keyOf(repo).namespace, (o) => o.repositories),
      },
    ];
  }

  registerHandlers(): void {
    registerWatches(this.watches(), (key) => this.enqueue(key));
    // A variant reads its set's `spec.suspend`: suspending or resuming a set reconciles its variants.
    registerWatches(
      [
        {
          name: "PackageVariantSets' spec.suspend: the set's variants",
          informer: this.store.packageVariantSets,
          fingerprint: (pvs) => JSON.stringify((pvs as PackageVariantSet).spec?.suspend ?? false),
          keys: (pvs, event) => (event === 'add' ? [] : (this.observations.get(objectKey(pvs))?.variants ?? [])),
        },
      ],
      (key) => this.enqueueVariants([key]),
    );
  }

  start(): void {
    this.metrics.registerController(CONTROLLER, {
      queue: this.queue,
      activeWorkers: () => this.workers?.active ?? 0,
      maxConcurrentReconciles: this.concurrency,
    });
    const reconcile = instrumentReconcile(
      {
        controller: CONTROLLER,
        log: this.log,
        metrics: this.metrics,
        failureCount: (key) => this.queue.failureCount(key),
        // A variant changed under a write (the cache was behind): routine, retried at once.
        routine: (error) => (error instanceof ConflictError ? 'write conflict; retrying' : undefined),
      },
      (key, context) => {
        this.reconciles.set(key, (this.reconciles.get(key) ?? 0) + 1);
        return this.reconciler.reconcile(key, context);
      },
    );
    this.workers = runWorkers(this.queue, this.concurrency, reconcile);
  }

  /**
   * An upstream change is about to reach these variants: their sets decide again only once every
   * one of their variants has reconciled (and its status reached the cache), or after a timeout.
   */
  upstreamChanged(variantKeys: readonly string[]): void {
    const bySet = new Map<string, string[]>();
    for (const key of variantKeys) {
      const owner = this.owners.get(key);
      if (owner) bySet.set(owner, [...(bySet.get(owner) ?? []), key]);
    }
    for (const [setKey, keys] of bySet) this.settling.wait(setKey, keys);
  }

  /**
   * A variant newly reports an upgrade held by the rollout: it has seen an upstream revision its
   * siblings may not have looked at yet (it reconciled for another reason, or the upstream poll
   * is still resolving). They are reconciled now, and the set decides once they all have.
   */
  private noticeHeldUpgrade(pv: PackageVariant): void {
    const key = keyString(keyOf(pv));
    const ready = getCondition(pv.status?.conditions, 'Ready');
    const held =
      ready?.reason === UPGRADE_HELD_REASON &&
      pv.status?.observedGeneration === pv.metadata?.generation &&
      (pv.status?.downstreamTargets ?? []).length > 0;
    if (!held) {
      this.heldUpgrades.delete(key);
      return;
    }
    if (this.heldUpgrades.has(key)) return;
    this.heldUpgrades.add(key);
    const setKey = this.ownerOf(pv);
    const siblings = (setKey ? this.observations.get(setKey)?.variants : undefined)?.filter((k) => k !== key);
    if (!setKey || !siblings?.length || this.settling.has(setKey)) return;
    this.upstreamChanged(siblings);
    this.enqueueVariants(siblings);
  }

  /** A variant reconcile finished; `statusVersion` is the resourceVersion of its status write, if it wrote one. */
  variantReconciled(key: string, statusVersion: string | undefined): void {
    const setKey = this.owners.get(key);
    if (setKey) this.settling.reconciled(setKey, key, statusVersion);
  }

  /** A variant reached the cache: the status write a settling set waits for may be in it. */
  private cached(pv: KubeObject): void {
    const key = keyString(keyOf(pv));
    const setKey = this.owners.get(key);
    if (setKey) this.settling.cached(setKey, key, pv.metadata?.resourceVersion);
  }

  /** Enqueues a set, unless it waits for its variants to settle (it is enqueued then). */
  private enqueue(setKey: string): void {
    if (!this.settling.has(setKey)) this.queue.add(setKey);
  }

  /** Takes no new keys (in-flight reconciles run on; `drain` waits for them). */
  stopTaking(): void {
    this.settling.clear();
    this.workers?.stop();
    this.queue.shutDown();
  }

  async drain(): Promise<void> {
    await this.workers?.drain();
  }

  /** The set a variant belongs to: its controller owner reference, else its set label (the set's UID). */
  private ownerOf(pv: KubeObject): string | undefined {
    const key = keyString(keyOf(pv));
    const { namespace } = keyOf(pv);
    const owner = pv.metadata?.ownerReferences?.find((r) => r.controller && r.kind === PACKAGE_VARIANT_SET_KIND);
    if (owner?.name) return keyString({ namespace, name: owner.name });
    const uid = pv.metadata?.labels?.[PACKAGE_VARIANT_SET_LABEL];
    if (uid) {
      const set = this.store.packageVariantSets.list(namespace).find((s) => s.metadata?.uid === uid);
      if (set) return keyString(keyOf(set));
    }
    return this.owners.get(key);
  }

  /** The sets of a namespace (all namespaces for cluster-scoped objects) whose observation matches. */
  private setsIn(namespace: string | undefined, uses: (o: SetObservation) => boolean): string[] {
    return this.store.packageVariantSets
      .list(namespace)
      .map((set) => objectKey(set))
      .filter((key) => {
        const observation = this.observations.get(key);
        // A set not reconciled yet is enqueued anyway: it will be reconciled soon in any case.
        return !observation || uses(observation);
      });
  }

  private observe(key: string, observation: SetObservation | undefined): void {
    const previous = this.observations.get(key);
    for (const variant of previous?.variants ?? []) {
      if (this.owners.get(variant) === key) this.owners.delete(variant);
    }
    if (!observation) {
      this.observations.delete(key);
      return;
    }
    this.observations.set(key, observation);
    for (const variant of observation.variants) this.owners.set(variant, key);
    for (const gvk of observation.objectKinds) this.watchKind(gvk);
  }

  /** One informer per selected kind (shared with injection watches); a change enqueues the sets selecting it. */
  private watchKind(gvk: GroupVersionKind): void {
    const id = kindId(gvk);
    if (this.watchedKinds.has(id)) return;
    this.watchedKinds.add(id);
    this.store.watchKind(gvk).then(
      (informer) => {
        registerWatches(
          [
            {
              name: `${id}: the sets whose objectSelector targets select this kind`,
              informer,
              keys: (obj) => this.setsIn(obj.metadata?.namespace, (o) => o.objectKinds.some((k) => kindId(k) === id)),
            },
          ],
          (key) => this.enqueue(key),
        );
        this.log.info({ kind: id }, 'watching target kind');
      },
      (error: unknown) => {
        // Tried again on the next reconcile that reports the kind.
        this.watchedKinds.delete(id);
        this.log.warn({ kind: id, err: describeError(error) }, 'cannot watch target kind');
      },
    );
  }
}
