// Which lists are associative, and by which keys: a small OpenAPI definitions table for the
// Kubernetes types whose lists carry `x-kubernetes-patch-strategy: merge` (as in the Kubernetes
// v1.21.2 OpenAPI that kyaml embeds) and for kyaml's built-in Kustomization schema, plus schemas
// from CRDs and from JSON comments on fields.

export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-list-type'?: string;
  [extension: string]: unknown;
}

/** How a list merges: associative (by `keys`, or as a set of scalars when `keys` is empty) or atomic. */
export interface ListStrategy {
  associative: boolean;
  keys: string[];
}

const REF = '#/definitions/';
const ref = (name: string): JsonSchema => ({ $ref: `${REF}${name}` });
const mergeList = (items: JsonSchema, mergeKey?: string, mapKeys?: string[], strategy = 'merge'): JsonSchema => ({
  type: 'array',
  items,
  'x-kubernetes-patch-strategy': strategy,
  ...(mergeKey ? { 'x-kubernetes-patch-merge-key': mergeKey } : {}),
  ...(mapKeys ? { 'x-kubernetes-list-map-keys': mapKeys } : {}),
});
const obj = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties });

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const CORE = 'io.k8s.api.core.v1.';
const conditions = mergeList(obj({}), 'type');

/** Kubernetes definitions (the associative lists only; everything else is schema-less). */
const KUBERNETES_DEFINITIONS: Record<string, JsonSchema> = {
  [META]: obj({
    ownerReferences: mergeList(obj({}), 'uid'),
    finalizers: mergeList({ type: 'string' }),
  }),
  [`${CORE}PodTemplateSpec`]: obj({ metadata: ref(META), spec: ref(`${CORE}PodSpec`) }),
  [`${CORE}PodSpec`]: obj({
    containers: mergeList(ref(`${CORE}Container`), 'name'),
    initContainers: mergeList(ref(`${CORE}Container`), 'name'),
    ephemeralContainers: mergeList(ref(`${CORE}EphemeralContainer`), 'name'),
    imagePullSecrets: mergeList(obj({}), 'name'),
    volumes: mergeList(obj({}), 'name', undefined, 'merge,retainKeys'),
    hostAliases: mergeList(obj({}), 'ip'),
    topologySpreadConstraints: mergeList(obj({}), 'topologyKey', ['topologyKey', 'whenUnsatisfiable']),
  }),
  [`${CORE}Container`]: obj({
    env: mergeList(obj({}), 'name'),
    ports: mergeList(obj({}), 'containerPort', ['containerPort', 'protocol']),
    volumeMounts: mergeList(obj({}), 'mountPath'),
    volumeDevices: mergeList(obj({}), 'devicePath'),
  }),
  [`${CORE}EphemeralContainer`]: obj({ env: mergeList(obj({}), 'name') }),
  [`${CORE}PodStatus`]: obj({ conditions, podIPs: mergeList(obj({}), 'ip') }),
  [`${CORE}ServiceSpec`]: obj({ ports: mergeList(obj({}), 'port', ['port', 'protocol']) }),
  [`${CORE}NodeSpec`]: obj({ podCIDRs: mergeList({ type: 'string' }) }),
  [`${CORE}NodeStatus`]: obj({ conditions, addresses: mergeList(obj({}), 'type') }),
  // kyaml's built-in kustomization schema (kyaml/openapi/kustomizationapi): the generators merge by name.
  'io.k8s.api.apps.v1.Kustomization': obj({
    configMapGenerator: mergeList(ref('io.k8s.api.apps.v1.ConfigMapArgs'), 'name'),
    secretGenerator: mergeList(ref('io.k8s.api.apps.v1.SecretArgs'), 'name'),
  }),
  'io.k8s.api.batch.v1.JobTemplateSpec': obj({
    metadata: ref(META),
    spec: obj({ template: ref(`${CORE}PodTemplateSpec`) }),
  }),
};

/** Resource types (apiVersion, kind) → root schema. */
function kubernetesResources(): Array<[string, string, JsonSchema]> {
  const out: Array<[string, string, JsonSchema]> = [];
  const add = (apiVersions: string[], kinds: string[], schema: JsonSchema) => {
    for (const apiVersion of apiVersions) for (const kind of kinds) out.push([apiVersion, kind, schema]);
  };
  const withMeta = (properties: Record<string, JsonSchema> = {}) => obj({ metadata: ref(META), ...properties });
  const statusConditions = { status: obj({ conditions }) };
  const templated = withMeta({ spec: obj({ template: ref(`${CORE}PodTemplateSpec`) }), ...statusConditions });
  add(['apps/v1', 'apps/v1beta2', 'apps/v1beta1', 'extensions/v1beta1'], ['Deployment', 'StatefulSet'], templated);
  add(['apps/v1', 'apps/v1beta2', 'extensions/v1beta1'], ['DaemonSet', 'ReplicaSet'], templated);
  add(['v1'], ['ReplicationController'], templated);
  add(['batch/v1'], ['Job'], templated);
  add(
    ['batch/v1', 'batch/v1beta1'],
    ['CronJob'],
    withMeta({ spec: obj({ jobTemplate: ref('io.k8s.api.batch.v1.JobTemplateSpec') }) }),
  );
  add(['v1'], ['Pod'], withMeta({ spec: ref(`${CORE}PodSpec`), status: ref(`${CORE}PodStatus`) }));
  add(['v1'], ['PodTemplate'], withMeta({ template: ref(`${CORE}PodTemplateSpec`) }));
  add(['v1'], ['Service'], withMeta({ spec: ref(`${CORE}ServiceSpec`) }));
  add(['v1'], ['ServiceAccount'], withMeta({ secrets: mergeList(obj({}), 'name') }));
  add(['v1'], ['Node'], withMeta({ spec: ref(`${CORE}NodeSpec`), status: ref(`${CORE}NodeStatus`) }));
  add(['v1'], ['Namespace', 'PersistentVolumeClaim'], withMeta(statusConditions));
  add(
    ['v1'],
    ['ConfigMap', 'Secret', 'Endpoints', 'LimitRange', 'PersistentVolume', 'ResourceQuota', 'Event'],
    withMeta(),
  );
  add(['rbac.authorization.k8s.io/v1'], ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'], withMeta());
  add(['networking.k8s.io/v1'], ['Ingress', 'NetworkPolicy', 'IngressClass'], withMeta());
  add(['policy/v1beta1'], ['PodDisruptionBudget', 'PodSecurityPolicy'], withMeta());
  add(['autoscaling/v1', 'autoscaling/v2beta2'], ['HorizontalPodAutoscaler'], withMeta());
  add(['storage.k8s.io/v1'], ['StorageClass', 'CSIDriver'], withMeta());
  add(['apiextensions.k8s.io/v1'], ['CustomResourceDefinition'], withMeta());
  add(
    ['admissionregistration.k8s.io/v1'],
    ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'],
    withMeta(),
  );
  add(['scheduling.k8s.io/v1'], ['PriorityClass'], withMeta());
  add(['kustomize.config.k8s.io/v1beta1'], ['Kustomization'], ref('io.k8s.api.apps.v1.Kustomization'));
  add(['coordination.k8s.io/v1'], ['Lease'], withMeta());
  return out;
}

/**
 * Definitions and a (apiVersion, kind) index. One registry per merge: CRD schemas registered for one
 * package never leak into another (kpt registers them process-wide).
 */
export class SchemaRegistry {
  private readonly definitions = new Map<string, JsonSchema>();
  private readonly resources = new Map<string, JsonSchema>();

  /** A registry holding the built-in Kubernetes table. */
  static kubernetes(): SchemaRegistry {
    const registry = new SchemaRegistry();
    for (const [name, schema] of Object.entries(KUBERNETES_DEFINITIONS)) registry.definitions.set(name, schema);
    for (const [apiVersion, kind, schema] of BUILTIN_RESOURCES) registry.resources.set(`${apiVersion}|${kind}`, schema);
    return registry;
  }

  /** Registers a definition under an OpenAPI name (for `$ref: '#/definitions/<name>'`). */
  addDefinition(name: string, schema: JsonSchema): void {
    this.definitions.set(name, schema);
  }

  /** Registers the root schema of a resource type. */
  addResource(apiVersion: string, kind: string, schema: JsonSchema): void {
    this.resources.set(`${apiVersion}|${kind}`, schema);
  }

  /**
   * Registers every version of a CustomResourceDefinition (plain object). Definitions are named
   * `<group>.<version>.<kind>`. Returns the number of versions registered.
   */
  registerCrd(crd: unknown): number {
    const spec = (crd as { spec?: Record<string, unknown> } | undefined)?.spec;
    const group = typeof spec?.group === 'string' ? spec.group : undefined;
    const kind = (spec?.names as { kind?: unknown } | undefined)?.kind;
    if (!group || typeof kind !== 'string' || !Array.isArray(spec?.versions)) return 0;
    let count = 0;
    for (const version of spec.versions as Array<Record<string, unknown>>) {
      const name = typeof version.name === 'string' ? version.name : undefined;
      const schema = (version.schema as { openAPIV3Schema?: JsonSchema } | undefined)?.openAPIV3Schema;
      if (!name || !schema || typeof schema !== 'object') continue;
      this.addDefinition(`${group}.${name}.${kind}`, schema);
      this.addResource(`${group}/${name}`, kind, schema);
      count++;
    }
    return count;
  }

  /** Root schema of a resource type. */
  forResource(apiVersion: string | undefined, kind: string | undefined): JsonSchema | undefined {
    if (!apiVersion || !kind) return undefined;
    return this.resources.get(`${apiVersion}|${kind}`);
  }

  /** Follows `$ref`s to a definition. */
  resolve(schema: JsonSchema | undefined): JsonSchema | undefined {
    let current = schema;
    for (let depth = 0; current?.$ref && depth < 20; depth++) {
      const name = current.$ref.startsWith(REF) ? current.$ref.slice(REF.length) : current.$ref;
      current = this.definitions.get(name);
    }
    return current;
  }

  /** Schema of a map field. */
  field(schema: JsonSchema | undefined, key: string): JsonSchema | undefined {
    const s = this.resolve(schema);
    if (!s) return undefined;
    const property = s.properties?.[key];
    if (property) return property;
    return typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
  }

  /** Schema of list elements. */
  items(schema: JsonSchema | undefined): JsonSchema | undefined {
    return this.resolve(schema)?.items;
  }

  /** Merge strategy of a list: associative only with `x-kubernetes-patch-strategy` containing `merge`. */
  listStrategy(schema: JsonSchema | undefined): ListStrategy | undefined {
    const s = this.resolve(schema);
    if (!s) return undefined;
    const strategy = s['x-kubernetes-patch-strategy'];
    if (typeof strategy !== 'string' || !strategy.split(',').includes('merge')) return { associative: false, keys: [] };
    const mapKeys = s['x-kubernetes-list-map-keys'];
    if (Array.isArray(mapKeys) && mapKeys.length) return { associative: true, keys: mapKeys.map(String) };
    const mergeKey = s['x-kubernetes-patch-merge-key'];
    return { associative: true, keys: typeof mergeKey === 'string' && mergeKey ? [mergeKey] : [] };
  }
}

const BUILTIN_RESOURCES = kubernetesResources();

const SCHEMA_HINTS = ['$ref', 'items', 'properties', 'x-kubernetes-patch-strategy', 'x-kubernetes-patch-merge-key'];

/** A JSON schema written in a comment (`# {"$ref": "#/definitions/..."}`), if the text is one. */
export function schemaFromComment(comment: string | null | undefined): JsonSchema | undefined {
  if (!comment) return undefined;
  for (const line of comment.split('\n')) {
    const text = line.trim().replace(/^#\s*/, '');
    if (!text.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object' && SCHEMA_HINTS.some((k) => k in (parsed as object))) {
        return parsed as JsonSchema;
      }
    } catch {
      // not JSON: an ordinary comment
    }
  }
  return undefined;
}
