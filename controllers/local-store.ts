// The local adapter of the object-store port: objects read from YAML files, kept in memory, status
// written back in memory (and printed by `pvctl reconcile`). Objects get the metadata the API server
// would give them (uid, generation, namespace `default`) so the reconcilers cannot tell the difference.
import { createHash } from 'node:crypto';
import {
  API_VERSION,
  PACKAGE_VARIANT_KIND,
  PACKAGE_VARIANT_SET_KIND,
  REPOSITORY_KIND,
  type KubeObject,
  type LabelSelector,
  type PackageVariant,
} from '../api/v1alpha1/index.ts';
import { ConflictError, TerminalError } from './errors.ts';
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

/** An object refused on admission (schema, semantic rules, a duplicate name), with its problems. */
export interface RefusedObject {
  kind: string;
  namespace: string;
  name: string;
  message: string;
}

export interface RecordedEvent extends KubeEvent {
  kind: string;
  namespace: string;
  name: string;
}

/**
 * Objects read from files have no UID; derive one from kind and name so that a variant owns the same
 * drafts on every run (ownership is by UID, as in the cluster).
 */
function stableUid(obj: KubeObject): string {
  const hex = createHash('sha256')
    .update(`${obj.apiVersion}/${obj.kind}/${obj.metadata?.namespace}/${obj.metadata?.name}`)
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const ours = (kind: string): GroupVersionKind => ({ apiVersion: API_VERSION, kind });
const GVKS: Record<StoredKind, GroupVersionKind> = {
  PackageVariant: ours(PACKAGE_VARIANT_KIND),
  PackageVariantSet: ours(PACKAGE_VARIANT_SET_KIND),
  Repository: ours(REPOSITORY_KIND),
  Secret: { apiVersion: 'v1', kind: 'Secret' },
};
/** Kinds whose refused objects stall the variant that reads one by name. */
const CHECKED: ReadonlySet<StoredKind> = new Set(['Repository', 'Secret']);
const objectId = (gvk: GroupVersionKind, key: ObjectKey) =>
  `${gvk.apiVersion}|${gvk.kind}|${key.namespace}|${key.name}`;

export class LocalObjectStore implements ObjectStore {
  private readonly objects = new Map<string, KubeObject>();
  private readonly refused = new Map<string, string>();
  readonly events: RecordedEvent[] = [];

  /**
   * `refused`: objects the API server would not have admitted. A variant that uses a refused
   * Repository or Secret stalls with its problems (in a cluster the object would not exist at all).
   */
  constructor(objects: KubeObject[] = [], refused: RefusedObject[] = []) {
    for (const obj of objects) this.put(structuredClone(obj));
    for (const r of refused) this.refused.set(`${r.kind}|${r.namespace}|${r.name}`, r.message);
  }

  private checkRefused(kind: string, key: ObjectKey): void {
    const message = this.refused.get(`${kind}|${key.namespace}|${key.name}`);
    if (message) throw new TerminalError(`Invalid${kind}`, `${kind} ${key.namespace}/${key.name}: ${message}`);
  }

  /** Adds or replaces an object, filling in the metadata the API server would set. */
  put<T extends KubeObject>(obj: T): T {
    obj.metadata ??= {};
    obj.metadata.namespace ??= 'default';
    obj.metadata.uid ??= stableUid(obj);
    obj.metadata.generation ??= 1;
    obj.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.objects.set(objectId({ apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '' }, keyOf(obj)), obj);
    return obj;
  }

  all(): KubeObject[] {
    return [...this.objects.values()];
  }

  private read<T extends KubeObject>(gvk: GroupVersionKind, key: ObjectKey): T | undefined {
    const obj = this.objects.get(objectId(gvk, key));
    return obj ? (structuredClone(obj) as T) : undefined;
  }

  private readAll<T extends KubeObject>(
    gvk: GroupVersionKind,
    namespace: string,
    selector?: LabelSelector,
    where?: (object: T) => boolean,
  ): T[] {
    return this.all()
      .filter((o) => o.apiVersion === gvk.apiVersion && o.kind === gvk.kind && o.metadata?.namespace === namespace)
      .filter((o) => matchesSelector(o.metadata?.labels, selector) && (!where || where(o as T)))
      .map((o) => structuredClone(o) as T);
  }

  private stored<T extends KubeObject>(obj: T): T {
    const current = this.objects.get(objectId({ apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '' }, keyOf(obj)));
    if (!current) throw new Error(`${obj.kind} ${keyOf(obj).namespace}/${keyOf(obj).name} not found`);
    return current as T;
  }

  async get<K extends StoredKind>(kind: K, key: ObjectKey): Promise<StoredKinds[K] | undefined> {
    if (CHECKED.has(kind)) this.checkRefused(kind, key);
    return this.read<StoredKinds[K]>(GVKS[kind], key);
  }
  async list<K extends StoredKind>(
    kind: K,
    namespace: string,
    selector?: LabelSelector,
    where?: (object: StoredKinds[K]) => boolean,
  ): Promise<StoredKinds[K][]> {
    return this.readAll<StoredKinds[K]>(GVKS[kind], namespace, selector, where);
  }
  async listObjects(gvk: GroupVersionKind, namespace: string, selector?: LabelSelector) {
    return this.readAll<KubeObject>(gvk, namespace, selector);
  }

  async patchStatus<K extends OwnedKind>(_kind: K, obj: StoredKinds[K], status: OwnedStatus[K]) {
    this.stored(obj).status = structuredClone(status);
    return undefined;
  }
  async setFinalizers<K extends OwnedKind>(kind: K, obj: StoredKinds[K], finalizers: string[]) {
    const current = this.stored(obj);
    current.metadata!.finalizers = [...finalizers];
    if (current.metadata!.deletionTimestamp && finalizers.length === 0)
      this.objects.delete(objectId(GVKS[kind], keyOf(obj)));
    return structuredClone(current);
  }

  async create(kind: 'PackageVariant', pv: PackageVariant) {
    const id = objectId(GVKS[kind], keyOf(pv));
    if (this.objects.has(id))
      throw new ConflictError(`PackageVariant ${keyOf(pv).namespace}/${keyOf(pv).name} already exists`);
    return structuredClone(this.put(structuredClone({ ...pv, apiVersion: API_VERSION, kind: PACKAGE_VARIANT_KIND })));
  }
  async update(_kind: 'PackageVariant', pv: PackageVariant) {
    const current = this.stored(pv);
    const specChanged = JSON.stringify(current.spec) !== JSON.stringify(pv.spec);
    const next = structuredClone({ ...pv, status: current.status });
    next.metadata = { ...pv.metadata, generation: (current.metadata?.generation ?? 1) + (specChanged ? 1 : 0) };
    return structuredClone(this.put(next));
  }
  /** Marks for deletion; the object goes away once its finalizers are removed, as in the API server. */
  async delete(kind: 'PackageVariant', key: ObjectKey) {
    this.markDeleted(GVKS[kind], key);
  }

  /** As {@link delete}, for a set (what `kubectl delete` does; not part of the port). */
  async deletePackageVariantSet(key: ObjectKey) {
    this.markDeleted(GVKS.PackageVariantSet, key);
  }

  private markDeleted(gvk: GroupVersionKind, key: ObjectKey) {
    const id = objectId(gvk, key);
    const current = this.objects.get(id);
    if (!current) return;
    if (current.metadata?.finalizers?.length) current.metadata.deletionTimestamp ??= new Date().toISOString();
    else this.objects.delete(id);
  }

  recordEvent(obj: KubeObject, event: KubeEvent) {
    const { namespace, name } = keyOf(obj);
    this.events.push({ kind: obj.kind ?? '', namespace, name, ...event });
  }
}
