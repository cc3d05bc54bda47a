// The Kubernetes adapter of the object-store port. PackageVariants, PackageVariantSets,
// Repositories and Secrets are read from informer caches (copies: the reconcilers mutate what they
// read); injection sources and set targets are listed through the API. Status goes through the
// status subresource as a merge patch; finalizers are merge patches carrying resourceVersion, so a
// stale object fails with 409 — a ConflictError, as from create and update — and the work queue
// retries. Events are core/v1 Events.
import {
  CoreV1Event,
  KubernetesObjectApi,
  V1EventSource,
  V1ObjectMeta,
  V1ObjectReference,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import {
  API_VERSION,
  GROUP,
  PACKAGE_VARIANT_KIND,
  VERSION,
  type KubeObject,
  type LabelSelector,
  type PackageVariant,
} from '../api/v1alpha1/index.ts';
import { apiErrorCode, apiErrorStatus, mergePatch, type KubeClients } from '../lib/kube/client.ts';
import { RestartableInformer, type InformerHealth } from '../lib/kube/informer.ts';
import { ConflictError } from './errors.ts';
import {
  keyOf,
  matchesSelector,
  type GroupVersionKind,
  type KubeEvent,
  type ObjectKey,
  type ObjectStore,
  type OwnedKind,
  type OwnedStatus,
  type StoredKind,
  type StoredKinds,
} from './store.ts';

export const EVENT_SOURCE = 'packagevariant-controller';

export type Verb = 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete';

export interface KubeStoreOptions {
  clients: KubeClients;
  /** The one namespace watched; all namespaces when absent. */
  namespace?: string;
  /** Informer failures (the informer retries by itself). */
  onInformerError?(informer: string, err: unknown, retryInMs: number): void;
  /** Failures of fire-and-forget writes (events). */
  onError?(what: string, err: unknown): void;
}

type Cached = KubernetesObject & KubeObject;

interface EventRecord {
  name: string;
  namespace: string;
  count: number;
}

const MAX_EVENT_RECORDS = 4096;

/** Exposes API discovery (protected in client-node) for informers on arbitrary kinds. */
class ObjectApi extends KubernetesObjectApi {
  discover(apiVersion: string, kind: string) {
    return this.resource(apiVersion, kind);
  }
}

function clone<T>(obj: unknown): T {
  return structuredClone(obj) as T;
}

function apiPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/** A merge patch that sets `next` and removes the fields of `previous` that `next` lacks (in nested objects too). */
function replacing(previous: object | undefined, next: object): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  const before = (previous ?? {}) as Record<string, unknown>;
  for (const field of Object.keys(before)) {
    const value = (next as Record<string, unknown>)[field];
    if (!(field in next)) patch[field] = null;
    // A merge patch merges objects: a field gone from a nested object (status.upstream.behindSince) is nulled too.
    else if (isPlainObject(before[field]) && isPlainObject(value)) patch[field] = replacing(before[field], value);
  }
  return patch;
}

const isPlainObject = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The custom resources' plurals, by kind. */
const PLURALS: Record<OwnedKind, string> = {
  PackageVariant: 'packagevariants',
  PackageVariantSet: 'packagevariantsets',
};

/** A 409 as the port's ConflictError (the object changed since it was read); other errors as they are. */
function conflictOr(error: unknown): unknown {
  if (apiErrorCode(error) !== 409) return error;
  return new ConflictError(apiErrorStatus(error)?.message ?? 'the object has been modified', { cause: error });
}

/** RFC 3339 with seconds, as metav1.Time is written. */
const rfc3339 = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class KubeObjectStore implements ObjectStore {
  /** API requests by verb (informer lists included; watches are counted by the informers). */
  readonly requests: Record<Verb, number> = { get: 0, list: 0, create: 0, update: 0, patch: 0, delete: 0 };
  /** Status writes (both kinds), for tests and benchmarks. */
  statusWrites = 0;
  readonly packageVariants: RestartableInformer<Cached>;
  readonly packageVariantSets: RestartableInformer<Cached>;
  readonly repositories: RestartableInformer<Cached>;
  readonly secrets: RestartableInformer<Cached>;
  private readonly clients: KubeClients;
  private readonly namespace: string | undefined;
  private readonly objectApi: ObjectApi;
  private readonly startedKinds = new Map<string, RestartableInformer<Cached>>();
  /** Started kinds whose objects live in namespaces (their informer answers listObjects). */
  private readonly namespacedKinds = new Set<string>();
  private readonly kindInformers = new Map<string, Promise<RestartableInformer<Cached>>>();
  private readonly events = new Map<string, EventRecord>();
  private readonly eventChains = new Map<string, Promise<void>>();
  private readonly options: KubeStoreOptions;

  constructor(options: KubeStoreOptions) {
    this.options = options;
    this.clients = options.clients;
    this.namespace = options.namespace;
    this.objectApi = options.clients.kubeConfig.makeApiClient(ObjectApi);
    this.packageVariants = this.customInformer('packagevariants');
    this.packageVariantSets = this.customInformer('packagevariantsets');
    this.repositories = this.customInformer('repositories');
    const core = this.clients.core;
    const ns = this.namespace;
    this.secrets = this.informer(
      'secrets',
      ns ? `/api/v1/namespaces/${ns}/secrets` : '/api/v1/secrets',
      () =>
        (ns ? core.listNamespacedSecret({ namespace: ns }) : core.listSecretForAllNamespaces()) as Promise<
          KubernetesListObject<Cached>
        >,
    );
  }

  /** The informers of the four kinds the reconcilers read, then those started for injection sources. */
  informers(): { name: string; health: InformerHealth }[] {
    const fixed = [
      ['packagevariants', this.packageVariants],
      ['packagevariantsets', this.packageVariantSets],
      ['repositories', this.repositories],
      ['secrets', this.secrets],
    ] as const;
    return [
      ...fixed.map(([name, informer]) => ({ name, health: informer.health() })),
      ...[...this.startedKinds].map(([name, informer]) => ({ name, health: informer.health() })),
    ];
  }

  async start(): Promise<void> {
    await Promise.all([
      this.packageVariants.start(),
      this.packageVariantSets.start(),
      this.repositories.start(),
      this.secrets.start(),
    ]);
  }

  async waitForSync(timeoutMs = 30_000): Promise<void> {
    await Promise.all(
      [this.packageVariants, this.packageVariantSets, this.repositories, this.secrets].map((i) =>
        i.waitForSync(timeoutMs),
      ),
    );
  }

  async stop(): Promise<void> {
    const kinds = await Promise.allSettled(this.kindInformers.values());
    await Promise.all([
      this.packageVariants.stop(),
      this.packageVariantSets.stop(),
      this.repositories.stop(),
      this.secrets.stop(),
      ...kinds.flatMap((k) => (k.status === 'fulfilled' ? [k.value.stop()] : [])),
    ]);
    await this.flushEvents();
  }

  /** Resolves when the events recorded so far have been written (or failed). */
  async flushEvents(): Promise<void> {
    while (this.eventChains.size) await Promise.all(this.eventChains.values());
  }

  /**
   * An informer on any kind in the watched namespace(s), started once (injection sources). Its
   * resource comes from API discovery; an unknown kind fails (and is tried again on the next call).
   */
  watchKind(gvk: GroupVersionKind): Promise<RestartableInformer<Cached>> {
    const id = `${gvk.apiVersion}/${gvk.kind}`;
    let informer = this.kindInformers.get(id);
    if (!informer) {
      informer = this.startKindInformer(gvk, id);
      this.kindInformers.set(id, informer);
      informer.catch(() => this.kindInformers.delete(id));
    }
    return informer;
  }

  private async startKindInformer(gvk: GroupVersionKind, id: string): Promise<RestartableInformer<Cached>> {
    this.requests.get++;
    const resource = await this.objectApi.discover(gvk.apiVersion, gvk.kind);
    if (!resource) throw new Error(`the API server does not serve ${gvk.kind} in ${gvk.apiVersion}`);
    const ns = resource.namespaced ? this.namespace : undefined;
    const path = `${apiPath(gvk.apiVersion)}${ns ? `/namespaces/${ns}` : ''}/${resource.name}`;
    const informer = this.informer(id, path, async () => {
      const list = (await this.objectApi.list(gvk.apiVersion, gvk.kind, ns)) as KubernetesListObject<Cached>;
      for (const item of list.items) {
        item.apiVersion ??= gvk.apiVersion;
        item.kind ??= gvk.kind;
      }
      return list;
    });
    this.startedKinds.set(id, informer);
    if (resource.namespaced) this.namespacedKinds.add(id);
    await informer.start();
    return informer;
  }

  private customInformer(plural: string): RestartableInformer<Cached> {
    const ns = this.namespace;
    const custom = this.clients.customObjects;
    const base = `/apis/${GROUP}/${VERSION}`;
    return this.informer(plural, ns ? `${base}/namespaces/${ns}/${plural}` : `${base}/${plural}`, () =>
      ns
        ? custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural })
        : custom.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, resourcePlural: plural }),
    );
  }

  private informer(
    name: string,
    path: string,
    list: () => Promise<KubernetesListObject<Cached>>,
  ): RestartableInformer<Cached> {
    return new RestartableInformer<Cached>({
      kubeConfig: this.clients.kubeConfig,
      path,
      list: () => {
        this.requests.list++;
        return list() as Promise<KubernetesListObject<Cached>>;
      },
      onError: (err, retryInMs) => this.options.onInformerError?.(name, err, retryInMs),
    });
  }

  private cached<T>(informer: RestartableInformer<Cached>, key: ObjectKey): T | undefined {
    const obj = informer.get(key.name, key.namespace);
    return obj ? clone<T>(obj) : undefined;
  }

  private listed<T>(
    informer: RestartableInformer<Cached>,
    namespace: string,
    selector?: LabelSelector,
    where?: (object: T) => boolean,
  ): T[] {
    return informer
      .list(namespace)
      .filter((o) => matchesSelector(o.metadata?.labels, selector) && (!where || where(o as T)))
      .map((o) => clone<T>(o));
  }

  private informerOf(kind: StoredKind): RestartableInformer<Cached> {
    switch (kind) {
      case 'PackageVariant':
        return this.packageVariants;
      case 'PackageVariantSet':
        return this.packageVariantSets;
      case 'Repository':
        return this.repositories;
      case 'Secret':
        return this.secrets;
    }
  }

  async get<K extends StoredKind>(kind: K, key: ObjectKey): Promise<StoredKinds[K] | undefined> {
    return this.cached<StoredKinds[K]>(this.informerOf(kind), key);
  }

  async list<K extends StoredKind>(
    kind: K,
    namespace: string,
    selector?: LabelSelector,
    where?: (object: StoredKinds[K]) => boolean,
  ): Promise<StoredKinds[K][]> {
    return this.listed<StoredKinds[K]>(this.informerOf(kind), namespace, selector, where);
  }

  /** From the kind's informer once it is synced (it is started by the first watch of the kind), else from the API. */
  async listObjects(gvk: GroupVersionKind, namespace: string, selector?: LabelSelector): Promise<KubeObject[]> {
    const id = `${gvk.apiVersion}/${gvk.kind}`;
    const informer = this.namespacedKinds.has(id) ? this.startedKinds.get(id) : undefined;
    if (informer?.health().synced) {
      return this.listed<KubeObject>(informer, namespace, selector).map((o) => ({
        ...o,
        apiVersion: o.apiVersion ?? gvk.apiVersion,
        kind: o.kind ?? gvk.kind,
      }));
    }
    this.requests.list++;
    const list = (await this.objectApi.list(gvk.apiVersion, gvk.kind, namespace)) as KubernetesListObject<Cached>;
    return list.items
      .filter((o) => matchesSelector(o.metadata?.labels, selector))
      .map((o) => clone<KubeObject>({ ...o, apiVersion: o.apiVersion ?? gvk.apiVersion, kind: o.kind ?? gvk.kind }));
  }

  private ref(plural: string, key: ObjectKey) {
    return { group: GROUP, version: VERSION, namespace: key.namespace, plural, name: key.name };
  }

  async patchStatus<K extends OwnedKind>(
    kind: K,
    obj: StoredKinds[K],
    status: OwnedStatus[K],
  ): Promise<string | undefined> {
    this.requests.patch++;
    this.statusWrites++;
    const written = (await this.clients.customObjects.patchNamespacedCustomObjectStatus(
      { ...this.ref(PLURALS[kind], keyOf(obj)), body: { status: replacing(obj.status, status) } },
      mergePatch,
    )) as KubeObject | undefined;
    return written?.metadata?.resourceVersion || undefined;
  }

  async setFinalizers<K extends OwnedKind>(
    kind: K,
    obj: StoredKinds[K],
    finalizers: string[],
  ): Promise<StoredKinds[K]> {
    this.requests.patch++;
    try {
      return (await this.clients.customObjects.patchNamespacedCustomObject(
        {
          ...this.ref(PLURALS[kind], keyOf(obj)),
          body: { metadata: { finalizers, resourceVersion: obj.metadata?.resourceVersion } },
        },
        mergePatch,
      )) as StoredKinds[K];
    } catch (error) {
      // Removing our finalizer from an object that is already gone is done.
      if (apiErrorCode(error) === 404 && obj.metadata?.deletionTimestamp) return obj;
      throw conflictOr(error);
    }
  }

  async create(kind: 'PackageVariant', pv: PackageVariant): Promise<PackageVariant> {
    this.requests.create++;
    try {
      return (await this.clients.customObjects.createNamespacedCustomObject({
        ...this.ref(PLURALS[kind], keyOf(pv)),
        body: { ...pv, apiVersion: API_VERSION, kind: PACKAGE_VARIANT_KIND },
      })) as PackageVariant;
    } catch (error) {
      throw conflictOr(error);
    }
  }

  async update(kind: 'PackageVariant', pv: PackageVariant): Promise<PackageVariant> {
    this.requests.update++;
    try {
      return (await this.clients.customObjects.replaceNamespacedCustomObject({
        ...this.ref(PLURALS[kind], keyOf(pv)),
        body: { ...pv, apiVersion: API_VERSION, kind: PACKAGE_VARIANT_KIND },
      })) as PackageVariant;
    } catch (error) {
      throw conflictOr(error);
    }
  }

  async delete(kind: 'PackageVariant', key: ObjectKey): Promise<void> {
    this.requests.delete++;
    try {
      await this.clients.customObjects.deleteNamespacedCustomObject(this.ref(PLURALS[kind], key));
    } catch (error) {
      if (apiErrorCode(error) !== 404) throw error;
    }
  }

  /** Writes a core/v1 Event in the background; repeats of one event raise its count. */
  recordEvent(obj: KubeObject, event: KubeEvent): void {
    const id = `${obj.metadata?.uid}|${event.type}|${event.reason}|${event.message}`;
    const previous = this.eventChains.get(id) ?? Promise.resolve();
    const next = previous
      .then(() => this.writeEvent(id, obj, event))
      .catch((err: unknown) => this.options.onError?.('event', err))
      .finally(() => {
        if (this.eventChains.get(id) === next) this.eventChains.delete(id);
      });
    this.eventChains.set(id, next);
  }

  private async writeEvent(id: string, obj: KubeObject, event: KubeEvent): Promise<void> {
    const now = new Date();
    const known = this.events.get(id);
    if (known) {
      known.count++;
      this.requests.patch++;
      try {
        await this.clients.core.patchNamespacedEvent(
          {
            name: known.name,
            namespace: known.namespace,
            body: { count: known.count, lastTimestamp: rfc3339(now) },
          },
          mergePatch,
        );
        return;
      } catch (error) {
        if (apiErrorCode(error) !== 404) throw error;
        this.events.delete(id);
      }
    }
    const { namespace, name } = keyOf(obj);
    const body = new CoreV1Event();
    body.metadata = new V1ObjectMeta();
    body.metadata.name = `${name}.${now.getTime().toString(16)}${Math.random().toString(16).slice(2, 8)}`;
    body.metadata.namespace = namespace;
    body.involvedObject = new V1ObjectReference();
    body.involvedObject.apiVersion = obj.apiVersion ?? API_VERSION;
    body.involvedObject.kind = obj.kind ?? PACKAGE_VARIANT_KIND;
    body.involvedObject.name = name;
    body.involvedObject.namespace = namespace;
    if (obj.metadata?.uid) body.involvedObject.uid = obj.metadata.uid;
    if (obj.metadata?.resourceVersion) body.involvedObject.resourceVersion = obj.metadata.resourceVersion;
    body.reason = event.reason;
    body.message = event.message;
    body.type = event.type;
    body.source = new V1EventSource();
    body.source.component = EVENT_SOURCE;
    body.firstTimestamp = now;
    body.lastTimestamp = now;
    body.count = 1;
    this.requests.create++;
    await this.clients.core.createNamespacedEvent({ namespace, body });
    if (this.events.size >= MAX_EVENT_RECORDS) this.events.delete(this.events.keys().next().value!);
    this.events.set(id, { name: body.metadata.name, namespace, count: 1 });
  }
}
