import { Optional, StringEnum, StringMap, Type, type Static } from './schema.ts';

export const GROUP = 'packagevariant.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/**
 * On a PackageVariant or PackageVariantSet: a request to reconcile it now (like Flux's
 * `reconcile.fluxcd.io/requestedAt`). Any new value is one request; the controller records the value
 * it handled in `status.lastHandledReconcileAt`. Set by `pvctl request-reconcile`.
 */
export const RECONCILE_REQUEST_ANNOTATION = `${GROUP}/reconcile-requested-at`;
/** Ready and Reconciling reason of a variant or set whose `spec.suspend` (or whose set's) is true. */
export const SUSPENDED_REASON = 'Suspended';

export const SuspendSchema = Type.Boolean({
  description:
    'Beyond Porch: while true, the controller observes but writes nothing (no draft, publish or cleanup in git; a set creates, updates and deletes no variants). Status says Suspended.',
});
export const LastHandledReconcileAtSchema = Type.String({
  description: `Beyond Porch: the value of the ${GROUP}/reconcile-requested-at annotation the last reconcile handled.`,
});

/** The subset of metav1.ObjectMeta the controller reads and writes. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

// The API server validates metadata itself; a CRD may only say that it is an object.
export const ObjectMetaSchema = Type.Unsafe<ObjectMeta>({ type: 'object' });

export const ConditionStatus = StringEnum(['True', 'False', 'Unknown'] as const);

/** metav1.Condition, with the validation kubebuilder generates for it. */
export const ConditionSchema = Type.Object(
  {
    type: Type.String({
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: ConditionStatus,
    observedGeneration: Optional(Type.Integer({ format: 'int64', minimum: 0 })),
    lastTransitionTime: Type.String({ format: 'date-time' }),
    reason: Type.String({ maxLength: 1024, minLength: 1, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
    message: Type.String({ maxLength: 32768 }),
  },
  { description: 'A metav1.Condition.' },
);
export type Condition = Static<typeof ConditionSchema>;

export const ConditionsSchema = Type.Array(ConditionSchema, {
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

const LabelSelectorRequirement = Type.Object({
  key: Type.String(),
  operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const),
  values: Optional(Type.Array(Type.String())),
});

export const labelSelectorProperties = {
  matchLabels: Optional(StringMap()),
  matchExpressions: Optional(Type.Array(LabelSelectorRequirement)),
};

/** metav1.LabelSelector */
export const LabelSelectorSchema = Type.Object(labelSelectorProperties, { 'x-kubernetes-map-type': 'atomic' });
export type LabelSelector = Static<typeof LabelSelectorSchema>;

/** kpt's resource selector, used by `selectors` and `exclude` of a pipeline function. */
const SelectorSchema = Type.Object({
  apiVersion: Optional(Type.String()),
  kind: Optional(Type.String()),
  name: Optional(Type.String()),
  namespace: Optional(Type.String()),
  labels: Optional(StringMap()),
  annotations: Optional(StringMap()),
});

export const kptFunctionProperties = {
  image: Optional(Type.String({ description: 'Container image of the function.' })),
  exec: Optional(Type.String({ description: 'Path of an executable function.' })),
  configPath: Optional(Type.String()),
  configMap: Optional(StringMap()),
  name: Optional(Type.String()),
  tag: Optional(Type.String()),
  selectors: Optional(Type.Array(SelectorSchema)),
  exclude: Optional(Type.Array(SelectorSchema)),
};

/** A kpt pipeline function (kpt.dev/v1 Function). */
export const KptFunctionSchema = Type.Object(kptFunctionProperties);
export type KptFunction = Static<typeof KptFunctionSchema>;

export const PipelineSchema = Type.Object({
  validators: Optional(Type.Array(KptFunctionSchema)),
  mutators: Optional(Type.Array(KptFunctionSchema)),
});
export type Pipeline = Static<typeof PipelineSchema>;

export const DELETION_POLICIES = ['delete', 'orphan'] as const;
export const ADOPTION_POLICIES = ['adoptNone', 'adoptExisting'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];
export type AdoptionPolicy = (typeof ADOPTION_POLICIES)[number];

/** A Kubernetes object as read from YAML or the API server, before its kind is known. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}
