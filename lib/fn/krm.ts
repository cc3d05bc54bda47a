// Small accessors for KRM objects held as YAML map nodes (comments and layout stay with the nodes).
import type { YAMLMap } from 'yaml';
import { Scalar, isMap, isScalar, isSeq } from 'yaml';
import { deleteField, ensureMap, getField, getIn, scalarString, setField } from '../kpt/yaml.ts';

export const LOCAL_CONFIG_ANNOTATION = 'config.kubernetes.io/local-config';
export const UPSTREAM_IDENTIFIER = 'internal.kpt.dev/upstream-identifier';

export const str = (node: unknown, ...path: string[]): string => scalarString(getIn(node, path)) ?? '';
export const kindOf = (o: unknown) => str(o, 'kind');
export const apiVersionOf = (o: unknown) => str(o, 'apiVersion');
export const nameOf = (o: unknown) => str(o, 'metadata', 'name');
export const namespaceOf = (o: unknown) => str(o, 'metadata', 'namespace');
export const groupOf = (o: unknown) => {
  const v = apiVersionOf(o);
  return v.includes('/') ? v.slice(0, v.indexOf('/')) : '';
};

/** A string map (`metadata.labels`, `data`, ...) as a plain object; non-scalar values are skipped. */
export function stringMap(node: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isMap(node)) return out;
  for (const pair of node.items) {
    const key = scalarString(pair.key);
    if (key === undefined) continue;
    if (isScalar(pair.value)) out[key] = pair.value.value === null ? '' : String(pair.value.value);
  }
  return out;
}

export const annotationsOf = (o: unknown) => stringMap(getIn(o, ['metadata', 'annotations']));

/** One annotation, as `annotationsOf(o)[key]` has it, without building the whole map. */
export function annotationOf(o: unknown, key: string): string | undefined {
  const annotations = getIn(o, ['metadata', 'annotations']);
  if (!isMap(annotations)) return undefined;
  let value: string | undefined;
  for (const pair of annotations.items) {
    if (scalarString(pair.key) !== key || !isScalar(pair.value)) continue;
    value = pair.value.value === null ? '' : String(pair.value.value);
  }
  return value;
}
export const labelsOf = (o: unknown) => stringMap(getIn(o, ['metadata', 'labels']));

export function isLocalConfig(o: unknown): boolean {
  const v = annotationOf(o, LOCAL_CONFIG_ANNOTATION);
  return v !== undefined && v !== '' && v !== 'false';
}

// Plain scalars YAML 1.1 readers (kyaml, kubectl) take for booleans, null or numbers.
const YAML11_SPECIAL =
  /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL|[-+]?(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][-+]?\d+)?|0x[0-9a-fA-F_]+|0o?[0-7_]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

/** A string scalar, double-quoted where a YAML 1.1 reader would take it for another type (as kyaml writes it). */
export function stringScalar(value: string): Scalar {
  const s = new Scalar(value);
  if (value === '' || YAML11_SPECIAL.test(value)) s.type = Scalar.QUOTE_DOUBLE;
  return s;
}

/** Thrown by {@link setString} inside {@link withoutWrites} when the string would change. */
export class WriteAttempt extends Error {}

let readOnly = false;

/**
 * Runs `f` (a built-in, synchronously) with every {@link setString} that would change a node
 * throwing {@link WriteAttempt}; writes of the value a node already holds are allowed, as they
 * change nothing. So a function that leaves its input as it is can run on shared nodes uncopied.
 */
export function withoutWrites<T>(f: () => T): T {
  readOnly = true;
  try {
    return f();
  } finally {
    readOnly = false;
  }
}

/** Whether `path` holds a string scalar `value` that {@link setString} would leave as it is. */
function holdsString(root: YAMLMap, path: readonly string[], value: string): boolean {
  const existing = getIn(root, path);
  return (
    isScalar(existing) &&
    existing.value === value &&
    !((existing.type === Scalar.PLAIN || existing.type === undefined) && YAML11_SPECIAL.test(value))
  );
}

/** Sets a string at `path`; an existing scalar keeps its node (comments, quoting where still valid). */
export function setString(root: YAMLMap, path: readonly string[], value: string): void {
  if (readOnly) {
    if (holdsString(root, path, value)) return;
    throw new WriteAttempt(`${path.join('.')} would change`);
  }
  const parent = ensureMap(root, path.slice(0, -1));
  const key = path[path.length - 1]!;
  const existing = getField(parent, key);
  if (isScalar(existing) && existing.value !== null) {
    existing.value = value;
    if ((existing.type === Scalar.PLAIN || existing.type === undefined) && YAML11_SPECIAL.test(value)) {
      existing.type = Scalar.QUOTE_DOUBLE;
    }
    return;
  }
  setField(parent, key, stringScalar(value));
}

export function setAnnotation(o: YAMLMap, key: string, value: string): void {
  setString(o, ['metadata', 'annotations', key], value);
}

/** Removes an annotation; `metadata.annotations` goes too when it becomes empty. */
export function removeAnnotation(o: YAMLMap, key: string): void {
  const annotations = getIn(o, ['metadata', 'annotations']);
  if (!isMap(annotations)) return;
  deleteField(annotations, key);
  if (annotations.items.length === 0) deleteField(getField(o, 'metadata') as YAMLMap, 'annotations');
}

/** The sequence at `path` (undefined when absent or not a list). */
export function seqAt(root: unknown, path: readonly string[]) {
  const node = getIn(root, path);
  return isSeq(node) ? node : undefined;
}

/**
 * Whether a resource is namespace-scoped, as the Go function SDK decides it (fn.KubeObject
 * IsNamespaceScoped): a table of built-in types, else "has metadata.namespace".
 */
export function isNamespaceScoped(o: unknown): boolean {
  const known = NAMESPACE_SCOPED.get(`${apiVersionOf(o)}|${kindOf(o)}`);
  if (known !== undefined) return known;
  return getIn(o, ['metadata', 'namespace']) !== undefined;
}

// Transcribed from the Go function SDK (krm-functions-sdk go/fn internal/namespace.go): apiVersion|kind → namespaced.
const CLUSTER = [
  'admissionregistration.k8s.io/v1|MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/v1|ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/v1beta1|MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/v1beta1|ValidatingWebhookConfiguration',
  'apiextensions.k8s.io/v1|CustomResourceDefinition',
  'apiextensions.k8s.io/v1beta1|CustomResourceDefinition',
  'apiregistration.k8s.io/v1|APIService',
  'apiregistration.k8s.io/v1beta1|APIService',
  'certificates.k8s.io/v1|CertificateSigningRequest',
  'certificates.k8s.io/v1beta1|CertificateSigningRequest',
  'flowcontrol.apiserver.k8s.io/v1beta1|FlowSchema',
  'flowcontrol.apiserver.k8s.io/v1beta1|PriorityLevelConfiguration',
  'networking.k8s.io/v1|IngressClass',
  'networking.k8s.io/v1beta1|IngressClass',
  'node.k8s.io/v1|RuntimeClass',
  'node.k8s.io/v1beta1|RuntimeClass',
  'policy/v1beta1|PodSecurityPolicy',
  'rbac.authorization.k8s.io/v1|ClusterRole',
  'rbac.authorization.k8s.io/v1|ClusterRoleBinding',
  'rbac.authorization.k8s.io/v1beta1|ClusterRole',
  'rbac.authorization.k8s.io/v1beta1|ClusterRoleBinding',
  'scheduling.k8s.io/v1|PriorityClass',
  'scheduling.k8s.io/v1beta1|PriorityClass',
  'storage.k8s.io/v1|CSIDriver',
  'storage.k8s.io/v1|CSINode',
  'storage.k8s.io/v1|StorageClass',
  'storage.k8s.io/v1|VolumeAttachment',
  'storage.k8s.io/v1beta1|CSIDriver',
  'storage.k8s.io/v1beta1|CSINode',
  'storage.k8s.io/v1beta1|StorageClass',
  'storage.k8s.io/v1beta1|VolumeAttachment',
  'v1|ComponentStatus',
  'v1|Namespace',
  'v1|Node',
  'v1|NodeProxyOptions',
  'v1|PersistentVolume',
];
const NAMESPACED = [
  'apps/v1|ControllerRevision',
  'apps/v1|DaemonSet',
  'apps/v1|Deployment',
  'apps/v1|ReplicaSet',
  'apps/v1|StatefulSet',
  'autoscaling/v1|HorizontalPodAutoscaler',
  'autoscaling/v1|Scale',
  'autoscaling/v2beta1|HorizontalPodAutoscaler',
  'autoscaling/v2beta2|HorizontalPodAutoscaler',
  'batch/v1|CronJob',
  'batch/v1|Job',
  'batch/v1beta1|CronJob',
  'coordination.k8s.io/v1|Lease',
  'coordination.k8s.io/v1beta1|Lease',
  'discovery.k8s.io/v1|EndpointSlice',
  'discovery.k8s.io/v1beta1|EndpointSlice',
  'events.k8s.io/v1|Event',
  'events.k8s.io/v1beta1|Event',
  'extensions/v1beta1|Ingress',
  'networking.k8s.io/v1|Ingress',
  'networking.k8s.io/v1|NetworkPolicy',
  'networking.k8s.io/v1beta1|Ingress',
  'policy/v1|PodDisruptionBudget',
  'policy/v1beta1|PodDisruptionBudget',
  'rbac.authorization.k8s.io/v1|Role',
  'rbac.authorization.k8s.io/v1|RoleBinding',
  'rbac.authorization.k8s.io/v1beta1|Role',
  'rbac.authorization.k8s.io/v1beta1|RoleBinding',
  'storage.k8s.io/v1beta1|CSIStorageCapacity',
  'v1|ConfigMap',
  'v1|Endpoints',
  'v1|Event',
  'v1|LimitRange',
  'v1|PersistentVolumeClaim',
  'v1|Pod',
  'v1|PodAttachOptions',
  'v1|PodExecOptions',
  'v1|PodPortForwardOptions',
  'v1|PodProxyOptions',
  'v1|PodTemplate',
  'v1|ReplicationController',
  'v1|ResourceQuota',
  'v1|Secret',
  'v1|Service',
  'v1|ServiceAccount',
  'v1|ServiceProxyOptions',
];
const NAMESPACE_SCOPED = new Map<string, boolean>([
  ...CLUSTER.map((k) => [k, false] as const),
  ...NAMESPACED.map((k) => [k, true] as const),
]);
