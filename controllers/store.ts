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

export interface ObjectStore {
  getPackageVariant(key: ObjectKey): Promise<PackageVariant | undefined>;
  listPackageVariants(namespace: string, selector?: LabelSelector): Promise<PackageVariant[]>;
  getPackageVariantSet(key: ObjectKey): Promise<PackageVariantSet | undefined>;
  getRepository(key: ObjectKey): Promise<Repository | undefined>;
  listRepositories(namespace: string, selector?: LabelSelector): Promise<Repository[]>;
  getSecret(key: ObjectKey): Promise<Secret | undefined>;
  /** Objects of any kind in a namespace (injection sources, PackageVariantSet object targets). */
  listObjects(gvk: GroupVersionKind, namespace: string, selector?: LabelSelector): Promise<KubeObject[]>;

  /** Writes status (the caller writes only when it changed). */
  writePackageVariantStatus(pv: PackageVariant, status: PackageVariantStatus): Promise<void>;
  writePackageVariantSetStatus(pvs: PackageVariantSet, status: PackageVariantSetStatus): Promise<void>;
  /** Replaces the finalizers of a PackageVariant; returns the updated object. */
  setPackageVariantFinalizers(pv: PackageVariant, finalizers: string[]): Promise<PackageVariant>;
  /** Replaces the finalizers of a PackageVariantSet; returns the updated object. */
  setPackageVariantSetFinalizers(pvs: PackageVariantSet, finalizers: string[]): Promise<PackageVariantSet>;

  createPackageVariant(pv: PackageVariant): Promise<PackageVariant>;
  updatePackageVariant(pv: PackageVariant): Promise<PackageVariant>;
  deletePackageVariant(key: ObjectKey): Promise<void>;

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
