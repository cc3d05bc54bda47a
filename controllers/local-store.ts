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
  type PackageVariantSet,
  type PackageVariantSetStatus,
  type PackageVariantStatus,
  type Repository,
} from '../api/v1alpha1/index.ts';
import {
  keyOf,
  matchesSelector,
  type GroupVersionKind,
  type KubeEvent,
  type ObjectKey,
  type ObjectStore,
  type Secret,
} from './store.ts';
import { StalledError } from './packagevariant/stalled.ts';

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
    if (message) throw new StalledError(`Invalid${kind}`, `${kind} ${key.namespace}/${key.name}: ${message}`);
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

  private get<T extends KubeObject>(gvk: GroupVersionKind, key: ObjectKey): T | undefined {
    const obj = this.objects.get(objectId(gvk, key));
    return obj ? (structuredClone(obj) as T) : undefined;
  }

  private list<T extends KubeObject>(gvk: GroupVersionKind, namespace: string, selector?: LabelSelector): T[] {
    return this.all()
      .filter((o) => o.apiVersion === gvk.apiVersion && o.kind === gvk.kind && o.metadata?.namespace === namespace)
      .filter((o) => matchesSelector(o.metadata?.labels, selector))
      .map((o) => structuredClone(o) as T);
  }

  private stored<T extends KubeObject>(obj: T): T {
    const current = this.objects.get(objectId({ apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '' }, keyOf(obj)));
    if (!current) throw new Error(`${obj.kind} ${keyOf(obj).namespace}/${keyOf(obj).name} not found`);
    return current as T;
  }

  async getPackageVariant(key: ObjectKey) {
    return this.get<PackageVariant>(ours(PACKAGE_VARIANT_KIND), key);
  }
  async listPackageVariants(namespace: string, selector?: LabelSelector) {
    return this.list<PackageVariant>(ours(PACKAGE_VARIANT_KIND), namespace, selector);
  }
  async getPackageVariantSet(key: ObjectKey) {
    return this.get<PackageVariantSet>(ours(PACKAGE_VARIANT_SET_KIND), key);
  }
  async getRepository(key: ObjectKey) {
    this.checkRefused(REPOSITORY_KIND, key);
    return this.get<Repository>(ours(REPOSITORY_KIND), key);
  }
  async listRepositories(namespace: string, selector?: LabelSelector) {
    return this.list<Repository>(ours(REPOSITORY_KIND), namespace, selector);
  }
  async getSecret(key: ObjectKey) {
    this.checkRefused('Secret', key);
    return this.get<Secret>({ apiVersion: 'v1', kind: 'Secret' }, key);
  }
  async listObjects(gvk: GroupVersionKind, namespace: string, selector?: LabelSelector) {
    return this.list<KubeObject>(gvk, namespace, selector);
  }

  async writePackageVariantStatus(pv: PackageVariant, status: PackageVariantStatus) {
    this.stored(pv).status = structuredClone(status);
  }
  async writePackageVariantSetStatus(pvs: PackageVariantSet, status: PackageVariantSetStatus) {
    this.stored(pvs).status = structuredClone(status);
  }
  async setPackageVariantFinalizers(pv: PackageVariant, finalizers: string[]) {
    const current = this.stored(pv);
    current.metadata!.finalizers = [...finalizers];
    if (current.metadata!.deletionTimestamp && finalizers.length === 0)
      this.objects.delete(objectId(ours(PACKAGE_VARIANT_KIND), keyOf(pv)));
    return structuredClone(current);
  }

  async setPackageVariantSetFinalizers(pvs: PackageVariantSet, finalizers: string[]) {
    const current = this.stored(pvs);
    current.metadata!.finalizers = [...finalizers];
    if (current.metadata!.deletionTimestamp && finalizers.length === 0)
      this.objects.delete(objectId(ours(PACKAGE_VARIANT_SET_KIND), keyOf(pvs)));
    return structuredClone(current);
  }

  async createPackageVariant(pv: PackageVariant) {
    const id = objectId(ours(PACKAGE_VARIANT_KIND), keyOf(pv));
    if (this.objects.has(id)) throw new Error(`PackageVariant ${keyOf(pv).namespace}/${keyOf(pv).name} already exists`);
    return structuredClone(this.put(structuredClone({ ...pv, apiVersion: API_VERSION, kind: PACKAGE_VARIANT_KIND })));
  }
  async updatePackageVariant(pv: PackageVariant) {
    const current = this.stored(pv);
    const specChanged = JSON.stringify(current.spec) !== JSON.stringify(pv.spec);
    const next = structuredClone({ ...pv, status: current.status });
    next.metadata = { ...pv.metadata, generation: (current.metadata?.generation ?? 1) + (specChanged ? 1 : 0) };
    return structuredClone(this.put(next));
  }
  /** Marks for deletion; the object goes away once its finalizers are removed, as in the API server. */
  async deletePackageVariant(key: ObjectKey) {
    const id = objectId(ours(PACKAGE_VARIANT_KIND), key);
    const current = this.objects.get(id);
    if (!current) return;
    if (current.metadata?.finalizers?.length) current.metadata.deletionTimestamp ??= new Date().toISOString();
    else this.objects.delete(id);
  }

  /** As {@link deletePackageVariant}, for a set (what `kubectl delete` does; not part of the port). */
  async deletePackageVariantSet(key: ObjectKey) {
    const id = objectId(ours(PACKAGE_VARIANT_SET_KIND), key);
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
