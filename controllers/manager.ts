// Controller mode: informers feed a keyed work queue, a worker pool runs the PackageVariant
// reconciler, and the watches Porch lacks (Repositories, their Secrets, injection sources, the
// upstream and downstream git repositories) enqueue exactly the variants they affect. Informer
// handlers and watcher callbacks only enqueue. PackageVariantSets have their own queue and workers
// (`manager-sets.ts`). Also serves the webhook, the health probes and `/metrics`, and shuts down
// gracefully.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { CelLimits } from '../api/v1alpha1/cel-cost.ts';
import type { PackageVariant, Repository } from '../api/v1alpha1/index.ts';
import type { GitStore } from '../lib/git/store.ts';
import { makeClients } from '../lib/kube/client.ts';
import { observeGitProcesses } from '../lib/git/exec.ts';
import { describeError } from '../lib/kube/informer.ts';
import type { LeaderElector } from '../lib/kube/leader-election.ts';
import { runWorkers, WorkQueue, type ReconcileResult, type Workers } from '../lib/kube/workqueue.ts';
import type { RenderOptions } from '../lib/fn/render.ts';
import { stopWasmRuntime } from '../lib/fn/runtimes/wasm.ts';
import type { ConflictPolicy } from '../lib/merge/index.ts';
import { Metrics } from '../lib/metrics/metrics.ts';
import { observeKubeRequests } from '../lib/metrics/rest-client.ts';
import { EventLoopMonitor, readiness } from './health.ts';
import { listen, metricsHandler, probeHandler, type ListenAddress } from './servers.ts';
import { instrumentReconcile } from './instrumented-reconcile.ts';
import { KubeObjectStore } from './kube-store.ts';
import { SetController } from './manager-sets.ts';
import { GitStores, isOciLocation, locationOf, type UpstreamLocation } from './packagevariant/git-stores.ts';
import { PushCoalescer } from './packagevariant/push-coalescer.ts';
import { ContentThreads } from './packagevariant/content-threads.ts';
import { failedStatusVersion, PackageVariantReconciler, type Observation } from './packagevariant/reconciler.ts';
import { upstreamLocation } from './packagevariant/upstream.ts';
import { setUpstreamFinder } from './set-upstream.ts';
import { parseKey } from './store.ts';
import { objectKey, registerWatches, specAndMetadata, UsageIndex, type Watch } from './watches.ts';
import { DOWNSTREAM_TRACK, downstreamRevision, GitSource } from './repositories/git-source.ts';
import { UpstreamIndex, type UpstreamWatch } from './repositories/index.ts';
import { normalizeRepoUrl } from './repositories/repo-url.ts';
import { UpstreamWatcher, type UpstreamSource } from './repositories/watcher.ts';
import { createWebhookServer, type WebhookLimits } from './repositories/webhook.ts';
import type { ReconcileContext } from './context.ts';

const PUSH_WAVE_MAX_DELAY_MS = 2000;

export type { ListenAddress } from './servers.ts';

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** The one namespace watched; all when absent. */
  namespace?: string;
  concurrency?: number;
  /** PackageVariantSet reconciles running at once (default 2). */
  setConcurrency?: number;
  /** Cost and time limits of PackageVariantSet template expressions. */
  celLimits?: CelLimits;
  /** Upstream and downstream git poll interval (default 1 minute). */
  pollIntervalMs?: number;
  cacheDir?: string;
  conflictPolicy?: ConflictPolicy;
  /** Function runtimes for rendering drafts (allowed executables, container runtime, timeouts). */
  render?: RenderOptions;
  /** Worker threads for merging, mutating and rendering packages (default 0: on the main thread). */
  threads?: number;
  /** `/healthz` and `/readyz`; no probe server when absent. */
  probeAddress?: ListenAddress;
  /** `/metrics`; no metrics server when absent. */
  metricsAddress?: ListenAddress;
  /** Where the metrics are kept (default: a fresh registry for this manager). */
  metrics?: Metrics;
  /** The git push webhook; served only with a secret. */
  webhookAddress?: ListenAddress;
  webhookSecret?: string;
  /** Body size, timeouts, connection cap and remembered delivery ids of the webhook server. */
  webhookLimits?: Partial<WebhookLimits>;
  /** How long shutdown waits for in-flight reconciles (default 30 s). */
  shutdownTimeoutMs?: number;
  /**
   * Run the controllers only while this elector holds the lease (informers and probes start at
   * once). Shutdown releases the lease after the last reconcile and push.
   */
  elector?: LeaderElector;
  /** Leadership was lost (not by shutdown): the process must stop reconciling; default logs only. */
  onLeadershipLost?: () => void;
}

export class Manager {
  readonly store: KubeObjectStore;
  readonly queue: WorkQueue;
  /** PackageVariantSets: their own queue and workers. */
  readonly sets: SetController;
  readonly stores: GitStores;
  readonly pushes: PushCoalescer;
  readonly upstreamIndex = new UpstreamIndex();
  readonly downstreamIndex = new UpstreamIndex();
  /** Reconciles started, by key (tests and benchmarks). */
  readonly reconciles = new Map<string, number>();
  /** Everything `/metrics` serves; leader election reports through `metrics.setLeader`. */
  readonly metrics: Metrics;
  private readonly upstreamWatcher: UpstreamWatcher;
  private readonly downstreamWatcher: UpstreamWatcher;
  private readonly reconciler: PackageVariantReconciler;
  private readonly contentThreads: ContentThreads | undefined;
  private readonly log: Logger;
  private readonly options: ManagerOptions;
  private readonly usage = new UsageIndex();
  /** `apiVersion/kind` of injection sources → variants that inject from that kind. */
  private readonly injectionKinds = new Map<string, Set<string>>();
  /** Watched repository identity → the location its source reads (repository root). */
  private readonly sourceLocations = new Map<string, UpstreamLocation>();
  private readonly sources = new Map<string, UpstreamSource>();
  /** Variant → the downstream repository identity it writes to. */
  private readonly downstreamRepos = new Map<string, string>();
  private workers: Workers | undefined;
  private readonly servers = new Map<'probe' | 'webhook' | 'metrics', Server>();
  private readonly eventLoop = new EventLoopMonitor();
  private readonly unsubscribers: Array<() => void> = [];
  private stopping: Promise<void> | undefined;
  /** Aborted when shutdown's grace period ends with reconciles still running. */
  private readonly aborted = new AbortController();

  constructor(options: ManagerOptions) {
    this.options = options;
    this.log = options.logger.child({ controller: 'packagevariant' });
    this.metrics = options.metrics ?? new Metrics();
    this.store = new KubeObjectStore({
      clients: makeClients(options.kubeConfig),
      ...(options.namespace ? { namespace: options.namespace } : {}),
      onInformerError: (informer, err, retryInMs) =>
        this.log.warn({ informer, retryInMs, err: describeError(err) }, 'informer failed; restarting'),
      onError: (what, err) => this.log.warn({ err: describeError(err) }, `${what} write failed`),
    });
    this.queue = new WorkQueue({ hooks: this.metrics.workQueueHooks('packagevariant') });
    this.sets = new SetController({
      store: this.store,
      logger: options.logger,
      metrics: this.metrics,
      enqueueVariants: (keys) => {
        for (const key of keys) this.queue.add(key);
      },
      ...(options.setConcurrency ? { concurrency: options.setConcurrency } : {}),
      findUpstream: (pvs, repository) => setUpstreamFinder(this.stores)(pvs, repository),
      ...(options.celLimits ? { celLimits: options.celLimits } : {}),
    });
    this.stores = new GitStores({ objects: this.store, ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}) });
    // A push costs git tens of milliseconds of CPU however many drafts it carries: while other
    // reconciles still run, a repository's writes wait up to 2 s for more; once every running
    // reconcile waits for its push, the wave goes at once (so a single change is not delayed).
    this.pushes = new PushCoalescer({ maxDelayMs: PUSH_WAVE_MAX_DELAY_MS });
    const intervalMs = options.pollIntervalMs ?? 60_000;
    const watcher = (index: UpstreamIndex, kind: 'upstream' | 'downstream') =>
      new UpstreamWatcher({
        index,
        intervalMs,
        sourceFor: (repo) => this.sourceFor(repo),
        enqueue: (keys) => {
          this.log.debug({ keys, watch: kind }, 'git change');
          if (kind === 'upstream') {
            // Their sets decide again once all of them have looked at the change.
            this.sets.upstreamChanged(keys);
            this.enqueueAfterDownstreamPoll(keys);
          } else for (const key of keys) this.queue.add(key);
        },
        onPoll: (repo, result, { error }) => {
          this.metrics.polled(repo, result !== 'error');
          if (result === 'error') this.log.warn({ repo, watch: kind, err: describeError(error) }, 'git poll failed');
        },
        onRevision: (watch, revision) => {
          if (kind === 'upstream') this.metrics.upstreamRevisionDetected(watch.repo, revision.commit);
        },
      });
    this.upstreamWatcher = watcher(this.upstreamIndex, 'upstream');
    this.downstreamWatcher = watcher(this.downstreamIndex, 'downstream');
    this.contentThreads = options.threads ? new ContentThreads(options.threads) : undefined;
    this.reconciler = new PackageVariantReconciler({
      objects: this.store,
      stores: this.stores,
      pushes: this.pushes,
      ...(this.contentThreads ? { contentThreads: this.contentThreads } : {}),
      ...(options.conflictPolicy ? { conflictPolicy: options.conflictPolicy } : {}),
      ...(options.render ? { render: options.render } : {}),
      observe: (key, observation) => this.observe(key, observation),
      upstreamSeen: (watch, revision) => this.upstreamSeen(watch, revision),
      metrics: this.metrics,
      downstreamWritten: (store, packageName) => this.downstreamWritten(store, packageName),
    });
  }

  async start(): Promise<void> {
    this.sets.registerHandlers();
    registerWatches(this.watches(), (key) => this.queue.add(key));
    const concurrency = this.options.concurrency ?? 8;
    this.metrics.registerController('packagevariant', {
      queue: this.queue,
      activeWorkers: () => this.workers?.active ?? 0,
      maxConcurrentReconciles: concurrency,
    });
    const server = this.options.kubeConfig.getCurrentCluster()?.server;
    if (server) {
      this.unsubscribers.push(
        observeKubeRequests(server, (code, method, host) => this.metrics.kubeRequest(code, method, host)),
      );
    }
    this.unsubscribers.push(observeGitProcesses((e) => this.metrics.gitCommand(e.command, e.durationMs / 1000, e.ok)));
    this.eventLoop.start();
    if (this.options.probeAddress) {
      const probes = probeHandler({
        healthz: () => this.eventLoop.check(),
        readyz: () => readiness(this.store.informers(), Boolean(this.stopping)),
      });
      this.servers.set('probe', await listen(this.options.probeAddress, probes));
    }
    if (this.options.metricsAddress) {
      const onError = (error: unknown) => this.log.warn({ err: describeError(error) }, 'collecting metrics failed');
      this.servers.set('metrics', await listen(this.options.metricsAddress, metricsHandler(this.metrics, onError)));
    }
    if (this.options.webhookAddress && this.options.webhookSecret) {
      const webhook = createWebhookServer({
        secret: this.options.webhookSecret,
        ...(this.options.webhookLimits ? { limits: this.options.webhookLimits } : {}),
        repositoriesFor: (url) =>
          this.upstreamIndex.repositories().includes(url) || this.downstreamIndex.repositories().includes(url)
            ? [url]
            : [],
        poll: (repo) => {
          this.log.info({ repo }, 'webhook: polling');
          void this.upstreamWatcher.pollNow(repo);
          void this.downstreamWatcher.pollNow(repo);
        },
      });
      this.servers.set('webhook', await listen(this.options.webhookAddress, webhook));
    }
    await this.store.start();
    const elector = this.options.elector;
    if (!elector) return this.startControllers();
    this.metrics.setLeader(elector.name, false);
    elector.onLeadershipChange((leading) => {
      this.metrics.setLeader(elector.name, leading);
      if (leading && !this.stopping) this.startControllers();
    });
    this.log.info({ identity: elector.identity }, 'waiting for leadership');
    void elector.run().then((outcome) => {
      if (outcome === 'lost' && !this.stopping) (this.options.onLeadershipLost ?? (() => {}))();
    });
  }

  /** Git watchers and workers: only the leader runs them. */
  private startControllers(): void {
    const concurrency = this.options.concurrency ?? 8;
    this.upstreamWatcher.start();
    this.downstreamWatcher.start();
    const reconcile = instrumentReconcile(
      {
        controller: 'packagevariant',
        log: this.log,
        metrics: this.metrics,
        failureCount: (key) => this.queue.failureCount(key),
        signal: this.aborted.signal,
      },
      (key, context) => this.reconcile(key, context),
    );
    this.workers = runWorkers(this.queue, concurrency, reconcile);
    this.sets.start();
    this.log.info({ namespace: this.options.namespace ?? '(all)', concurrency }, 'controller started');
  }

  /** Addresses the probe, metrics and webhook servers listen on (in start order). */
  addresses(): AddressInfo[] {
    return [...this.servers.values()].map((s) => s.address() as AddressInfo);
  }

  /** The address one server listens on, when it runs. */
  addressOf(server: 'probe' | 'webhook' | 'metrics'): AddressInfo | undefined {
    return this.servers.get(server)?.address() as AddressInfo | undefined;
  }

  ready(): boolean {
    return this.store.informers().every((i) => i.health.synced && i.health.watching);
  }

  /** Stops watching and taking work, lets in-flight reconciles finish (bounded), closes the git caches. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.log.info('shutting down');
    this.upstreamWatcher.stop();
    this.downstreamWatcher.stop();
    await this.store.stop();
    this.workers?.stop();
    this.queue.shutDown();
    this.sets.stopTaking();
    const timeoutMs = this.options.shutdownTimeoutMs ?? 30_000;
    const finished = await withTimeout(
      (async () => {
        await Promise.all([this.workers?.drain(), this.sets.drain()]);
        await this.pushes.drain();
      })(),
      timeoutMs,
    );
    if (!finished) {
      this.log.warn({ timeoutMs }, 'reconciles still running at shutdown; aborting them');
      this.aborted.abort(new Error('controller shut down'));
    }
    await this.contentThreads?.close();
    await withTimeout(this.store.flushEvents(), 5_000);
    // Last, so no successor reconciles while our pushes are in flight.
    if (this.options.elector) await withTimeout(this.options.elector.stop(), 5_000);
    this.eventLoop.stop();
    // Connections still sending a request (a slow client) would hold `close` until they time out.
    await Promise.all(
      [...this.servers.values()].map(
        (s) =>
          new Promise((resolve) => {
            s.close(resolve);
            s.closeAllConnections();
          }),
      ),
    );
    this.servers.clear();
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    this.stores.close();
    stopWasmRuntime();
    this.log.info('stopped');
  }

  private async reconcile(key: string, context: ReconcileContext): Promise<ReconcileResult | void> {
    this.reconciles.set(key, (this.reconciles.get(key) ?? 0) + 1);
    let statusVersion: string | undefined;
    try {
      const result = await this.pushes.track(() => this.reconciler.reconcile(key, context));
      statusVersion = result?.statusVersion;
      return result;
    } catch (error) {
      statusVersion = failedStatusVersion(error);
      throw error;
    } finally {
      this.sets.variantReconciled(key, statusVersion);
    }
  }

  /**
   * A variant wrote a draft from an upstream revision. The watcher then takes it as known; if it is
   * new to the watcher, the other variants of that watch have not seen it yet: enqueue them as a
   * poll would have.
   */
  private upstreamSeen(watch: UpstreamWatch, revision: { commit: string; tree: string }): void {
    const before = this.upstreamWatcher.current(watch);
    this.upstreamWatcher.noteResolved(watch, revision);
    if (before && before.tree !== revision.tree) {
      this.metrics.upstreamRevisionDetected(watch.repo, revision.commit);
      const keys = this.upstreamIndex.variantsOf(watch);
      this.sets.upstreamChanged(keys);
      this.enqueueAfterDownstreamPoll(keys);
    }
  }

  /** Our own push is no news: the downstream watcher takes the package's new revisions as seen. */
  private async downstreamWritten(store: GitStore, packageName: string): Promise<void> {
    const watch = {
      repo: normalizeRepoUrl(store.url),
      package: store.packagePath(packageName),
      track: DOWNSTREAM_TRACK,
    };
    this.downstreamWatcher.noteResolved(watch, await downstreamRevision(store, packageName));
  }

  /**
   * An upstream change is merged into what the downstream holds now: poll the downstream
   * repositories first, so that a revision a person published since the last poll is the base.
   */
  private enqueueAfterDownstreamPoll(keys: string[]): void {
    const repos = new Set(keys.map((key) => this.downstreamRepos.get(key)).filter((r) => r !== undefined));
    void Promise.allSettled([...repos].map((repo) => this.downstreamWatcher.pollNow(repo))).then(() => {
      for (const key of keys) this.queue.add(key);
    });
  }

  /** What the PackageVariant controller watches in the cluster (git is watched by the watchers). */
  private watches(): Watch[] {
    const usage = this.usage;
    return [
      {
        name: 'PackageVariants: their spec, deletion and metadata (not their status)',
        informer: this.store.packageVariants,
        fingerprint: specAndMetadata,
        index: (event, pv) => usage.variant(event, pv as PackageVariant),
        keys: (pv) => [objectKey(pv)],
      },
      {
        name: 'Repositories: the variants that use them',
        informer: this.store.repositories,
        index: (event, repo) => usage.repository(event, repo as Repository),
        keys: (repo) => usage.usersOfRepository(repo),
      },
      {
        name: 'Secrets: the variants whose Repositories (or spec.upstream.git/oci) use them',
        informer: this.store.secrets,
        keys: (secret) => usage.usersOfSecret(secret),
      },
    ];
  }

  /** The reconciler's report of what a variant uses: feeds the git watchers and injection watches. */
  private observe(key: string, observation: Observation | undefined): void {
    if (!observation) {
      this.upstreamIndex.delete(key);
      this.downstreamIndex.delete(key);
      this.downstreamRepos.delete(key);
      for (const variants of this.injectionKinds.values()) variants.delete(key);
      return;
    }
    const { namespace, name } = parseKey(key);
    const pv = this.store.packageVariants.get(name, namespace) as PackageVariant | undefined;
    const repository = (repoName: string | undefined) =>
      repoName ? (this.store.repositories.get(repoName, namespace) as Repository | undefined) : undefined;
    if (observation.upstream && pv?.spec?.upstream) {
      const upRepo = repository(pv.spec.upstream.repo);
      if (pv.spec.upstream.git || pv.spec.upstream.oci || upRepo) {
        this.watch(this.upstreamIndex, this.upstreamWatcher, key, observation.upstream, upstreamLocation(pv, upRepo));
      }
    }
    const downRepo = repository(pv?.spec?.downstream?.repo);
    const downPackage = pv?.spec?.downstream?.package;
    if (downRepo?.spec?.git && downPackage) {
      const location = locationOf(downRepo);
      const directory = location.directory.replace(/^\/+|\/+$/g, '');
      const watch = {
        repo: normalizeRepoUrl(location.url),
        package: directory ? `${directory}/${downPackage}` : downPackage,
        track: DOWNSTREAM_TRACK,
      };
      this.watch(this.downstreamIndex, this.downstreamWatcher, key, watch, location);
      this.downstreamRepos.set(key, watch.repo);
    }
    for (const kind of observation.injectionKinds) this.watchInjectionKind(kind, key);
  }

  private watch(
    index: UpstreamIndex,
    watcher: UpstreamWatcher,
    key: string,
    watch: UpstreamWatch,
    location: UpstreamLocation,
  ): void {
    // A git source reads from the repository root and never writes (no branch creation).
    if (!this.sourceLocations.has(watch.repo)) {
      this.sourceLocations.set(
        watch.repo,
        isOciLocation(location) ? location : { ...location, directory: '', createBranch: false },
      );
    }
    index.set(key, watch);
    watcher.track(watch.repo);
  }

  private sourceFor(repo: string): UpstreamSource | undefined {
    let source = this.sources.get(repo);
    const location = this.sourceLocations.get(repo);
    if (!source && location) {
      source = isOciLocation(location) ? this.stores.source(location) : new GitSource(() => this.stores.get(location));
      this.sources.set(repo, source);
    }
    return source;
  }

  private watchInjectionKind(kindId: string, key: string): void {
    let variants = this.injectionKinds.get(kindId);
    if (!variants) {
      variants = new Set();
      this.injectionKinds.set(kindId, variants);
      const slash = kindId.lastIndexOf('/');
      const gvk = { apiVersion: kindId.slice(0, slash), kind: kindId.slice(slash + 1) };
      const users = variants;
      this.store.watchKind(gvk).then(
        (informer) => {
          registerWatches(
            [
              {
                name: `${kindId}: the variants injecting from this kind, in the object's namespace`,
                informer,
                keys: (obj) =>
                  [...users].filter(
                    (user) => !obj.metadata?.namespace || parseKey(user).namespace === obj.metadata.namespace,
                  ),
              },
            ],
            (key) => this.queue.add(key),
          );
          this.log.info({ kind: kindId }, 'watching injection source kind');
        },
        (error: unknown) => {
          this.injectionKinds.delete(kindId);
          this.log.warn({ kind: kindId, err: describeError(error) }, 'cannot watch injection source kind');
        },
      );
    }
    variants.add(key);
  }
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
