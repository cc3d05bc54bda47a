// PackageVariantSet: one upstream package → a fleet of PackageVariants. Field-for-field compatible
// with Porch's config.porch.kpt.dev/v1alpha2 PackageVariantSet.
import {
  ADOPTION_POLICIES,
  ConditionsSchema,
  DELETION_POLICIES,
  kptFunctionProperties,
  labelSelectorProperties,
  LabelSelectorSchema,
  LastHandledReconcileAtSchema,
  ObjectMetaSchema,
  SuspendSchema,
  type KubeObject,
} from './common.ts';
import { PublishPolicySchema, UpstreamSchema } from './packagevariant.ts';
import { Optional, StringEnum, StringMap, Type, type Static } from './schema.ts';

export const PACKAGE_VARIANT_SET_KIND = 'PackageVariantSet';
/** Label on generated PackageVariants; its value is the set's UID. */
export const PACKAGE_VARIANT_SET_LABEL = 'packagevariant.dev/packagevariantset';
/** On a set: its generated variants are deleted before the set goes (also where no garbage collector runs). */
export const PACKAGE_VARIANT_SET_FINALIZER = 'packagevariant.dev/packagevariantsets';

export const RepositoryTargetSchema = Type.Object({
  name: Type.String({ description: 'Name of a Repository.' }),
  packageNames: Optional(Type.Array(Type.String())),
});

export const ObjectSelectorSchema = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  name: Optional(Type.String()),
  ...labelSelectorProperties,
});

export const MapExprSchema = Type.Object({
  key: Optional(Type.String()),
  value: Optional(Type.String()),
  keyExpr: Optional(Type.String()),
  valueExpr: Optional(Type.String()),
});
export type MapExpr = Static<typeof MapExprSchema>;

export const FunctionTemplateSchema = Type.Object({
  ...kptFunctionProperties,
  configMapExprs: Optional(Type.Array(MapExprSchema)),
});
export type FunctionTemplate = Static<typeof FunctionTemplateSchema>;

export const PackageVariantTemplateSchema = Type.Object({
  downstream: Optional(
    Type.Object({
      repo: Optional(Type.String()),
      package: Optional(Type.String()),
      repoExpr: Optional(Type.String()),
      packageExpr: Optional(Type.String()),
    }),
  ),
  adoptionPolicy: Optional(StringEnum(ADOPTION_POLICIES)),
  deletionPolicy: Optional(StringEnum(DELETION_POLICIES)),
  labels: Optional(StringMap()),
  labelExprs: Optional(Type.Array(MapExprSchema)),
  annotations: Optional(StringMap()),
  annotationExprs: Optional(Type.Array(MapExprSchema)),
  packageContext: Optional(
    Type.Object({
      data: Optional(StringMap()),
      dataExprs: Optional(Type.Array(MapExprSchema)),
      removeKeys: Optional(Type.Array(Type.String())),
      removeKeyExprs: Optional(Type.Array(Type.String())),
    }),
  ),
  pipeline: Optional(
    Type.Object({
      validators: Optional(Type.Array(FunctionTemplateSchema)),
      mutators: Optional(Type.Array(FunctionTemplateSchema)),
    }),
  ),
  injectors: Optional(
    Type.Array(
      Type.Object({
        group: Optional(Type.String()),
        version: Optional(Type.String()),
        kind: Optional(Type.String()),
        name: Optional(Type.String()),
        nameExpr: Optional(Type.String()),
      }),
    ),
  ),
});
export type PackageVariantTemplate = Static<typeof PackageVariantTemplateSchema>;

export const TargetSchema = Type.Object({
  repositories: Optional(Type.Array(RepositoryTargetSchema)),
  repositorySelector: Optional(LabelSelectorSchema),
  objectSelector: Optional(ObjectSelectorSchema),
  template: Optional(PackageVariantTemplateSchema),
});
export type Target = Static<typeof TargetSchema>;

export const RolloutStageSchema = Type.Object({
  name: Type.String({ description: 'Name of the stage, shown in status.' }),
  selector: Optional(
    Type.Object(labelSelectorProperties, {
      description: 'Labels of the target object (or downstream Repository) that put a variant in this stage.',
    }),
  ),
});
export type RolloutStage = Static<typeof RolloutStageSchema>;

export const RolloutSchema = Type.Object(
  {
    stages: Optional(
      Type.Array(RolloutStageSchema, {
        description:
          'Ordered stages; a variant belongs to the first stage whose selector matches. Variants no stage selects form a last stage.',
      }),
    ),
    maxConcurrent: Optional(
      Type.Integer({ minimum: 1, description: 'Variants with a draft in flight at once. Default: no limit.' }),
    ),
    paused: Optional(Type.Boolean({ description: 'No new drafts are started while true.' })),
    publishPolicy: Optional(PublishPolicySchema),
    maxFailures: Optional(
      Type.Integer({
        minimum: 0,
        description: 'Failed variants tolerated before the rollout halts. Default: 0 (the first failure halts).',
      }),
    ),
  },
  { description: 'Beyond Porch: roll an upstream change out to the fleet in stages.' },
);
export type Rollout = Static<typeof RolloutSchema>;

export const PackageVariantSetSpecSchema = Type.Object({
  upstream: Optional(UpstreamSchema),
  targets: Optional(Type.Array(TargetSchema)),
  rollout: Optional(RolloutSchema),
  suspend: Optional(SuspendSchema),
});
export type PackageVariantSetSpec = Static<typeof PackageVariantSetSpecSchema>;

const count = (description: string) => Type.Integer({ minimum: 0, description });

export const VariantSummarySchema = Type.Object({
  total: count('Generated variants.'),
  upToDate: count('Ready, with no draft pending and no upgrade waiting.'),
  waiting: count('An upgrade is held by the rollout, the variant is suspended, or it has not reported yet.'),
  draftPending: count('A draft (or proposed revision) without conflicts waits to be published.'),
  conflicted: count('A draft carries merge conflicts.'),
  failed: count('Stalled, or Ready=False.'),
});
export type VariantSummary = Static<typeof VariantSummarySchema>;

export const TargetCollisionSchema = Type.Object({
  name: Type.String({ description: 'Name of the PackageVariant the targets would share.' }),
  targets: Type.Array(Type.String(), { description: 'The colliding targets: `targets[i]: repo/package`.' }),
});
export type TargetCollision = Static<typeof TargetCollisionSchema>;

export const RolloutStatusSchema = Type.Object({
  currentStage: Optional(Type.String()),
  /** Variants allowed to make an upgrade draft now. */
  released: Optional(Type.Array(Type.String())),
  halted: Optional(Type.Boolean()),
  message: Optional(Type.String()),
});
export type RolloutStatus = Static<typeof RolloutStatusSchema>;

export const PackageVariantSetStatusSchema = Type.Object({
  observedGeneration: Optional(Type.Integer({ format: 'int64' })),
  conditions: Optional(ConditionsSchema),
  variants: Optional(VariantSummarySchema),
  collisions: Optional(Type.Array(TargetCollisionSchema)),
  rollout: Optional(RolloutStatusSchema),
  lastHandledReconcileAt: Optional(LastHandledReconcileAtSchema),
});
export type PackageVariantSetStatus = Static<typeof PackageVariantSetStatusSchema>;

export const PackageVariantSetSchema = Type.Object({
  apiVersion: Optional(Type.String()),
  kind: Optional(Type.String()),
  metadata: Optional(ObjectMetaSchema),
  spec: Optional(PackageVariantSetSpecSchema),
  status: Optional(PackageVariantSetStatusSchema),
});

export interface PackageVariantSet extends KubeObject {
  spec?: PackageVariantSetSpec;
  status?: PackageVariantSetStatus;
}
