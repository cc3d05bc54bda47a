// The object-store port: everything the reconcilers read from and write to the Kubernetes API,
// behind one small interface with two adapters — the API server (controller mode) and YAML files
// held in memory (`pvctl reconcile -f`, the demo and most tests).
import type {
  KubeObject,
  LabelSelector,
  PackageVariant,
  PackageVariantSet,
  PackageVariantSetStatus,
  PackageVariantStatus,
  Repository,
} from '../api/v1alpha1/index.ts';

export interface ObjectKey {
  namespace: string;
  name: string;
}

export function keyOf(obj: KubeObject): ObjectKey {
  return { namespace: obj.metadata?.namespace ?? 'default', name: obj.metadata?.name ?? '' };
}

export function keyString(key: ObjectKey): string {
  return `${key.namespace}/${key.name}`;
}

export function parseKey(key: string): ObjectKey {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** A core/v1 Secret as far as the controller reads it. */
export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface GroupVersionKind {
  apiVersion: string;
  kind: string;
}

export interface KubeEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** The kinds the reconcilers read by name, and their types. */
export interface StoredKinds {
  PackageVariant: PackageVariant;
  PackageVariantSet: PackageVariantSet;
  Repository: Repository;
  Secret: Secret;
}

export type StoredKind = keyof StoredKinds;

/** The kinds the controller owns: it writes their status and sets their finalizers. */
export type OwnedKind = 'PackageVariant' | 'PackageVariantSet';

/** The status type of an owned kind. */
export interface OwnedStatus {
  PackageVariant: PackageVariantStatus;
  PackageVariantSet: PackageVariantSetStatus;
}

/**
 * The port. Reads return copies (the reconcilers mutate what they read). Writes of a stale object
 * (create of an existing name, update or finalizers of a changed object) throw `ConflictError`
 * (controllers/errors.ts); a refused object the reconciler reads throws `TerminalError`.
 */
export interface ObjectStore {
  get<K extends StoredKind>(kind: K, key: ObjectKey): Promise<StoredKinds[K] | undefined>;
  /**
   * `where` picks objects before they are copied (it must only read them): a scan for a few
   * objects among thousands costs a copy of the few.
   */
  list<K extends StoredKind>(
    kind: K,
    namespace: string,
    selector?: LabelSelector,
    where?: (object: StoredKinds[K]) => boolean,
  ): Promise<StoredKinds[K][]>;
  /** Objects of any kind in a namespace (injection sources, PackageVariantSet object targets). */
  listObjects(gvk: GroupVersionKind, namespace: string, selector?: LabelSelector): Promise<KubeObject[]>;

  /**
   * Writes status (the caller writes only when it changed); returns the object's resourceVersion
   * after the write (undefined in local mode), which the informer cache delivers later.
   */
  patchStatus<K extends OwnedKind>(kind: K, obj: StoredKinds[K], status: OwnedStatus[K]): Promise<string | undefined>;
  /** Replaces the finalizers; returns the updated object. */
  setFinalizers<K extends OwnedKind>(kind: K, obj: StoredKinds[K], finalizers: string[]): Promise<StoredKinds[K]>;

  create(kind: 'PackageVariant', obj: PackageVariant): Promise<PackageVariant>;
  update(kind: 'PackageVariant', obj: PackageVariant): Promise<PackageVariant>;
  /** Marks for deletion (gone once its finalizers are removed); a missing object is not an error. */
  delete(kind: 'PackageVariant', key: ObjectKey): Promise<void>;

  recordEvent(obj: KubeObject, event: KubeEvent): void;
}

/** metav1.LabelSelector semantics (matchLabels and matchExpressions; an empty selector matches everything). */
export function matchesSelector(
  labels: Record<string, string> | undefined,
  selector: LabelSelector | undefined,
): boolean {
  if (!selector) return true;
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (have[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = key in have;
    const value = have[key];
    switch (operator) {
      case 'In':
        if (!present || !values.includes(value!)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(value!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}
