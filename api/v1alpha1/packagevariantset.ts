// PackageVariantSet: one upstream package → a fleet of PackageVariants. Field-for-field compatible
// with Porch's config.porch.kpt.dev/v1alpha2 PackageVariantSet.
import {
  ADOPTION_POLICIES,
  ConditionsSchema,
  DELETION_POLICIES,
  kptFunctionProperties,
  labelSelectorProperties,
  LabelSelectorSchema,
  ObjectMetaSchema,
  type KubeObject,
} from './common.ts';
import { UpstreamSchema } from './packagevariant.ts';
import { Optional, StringEnum, StringMap, Type, type Static } from './schema.ts';

export const PACKAGE_VARIANT_SET_KIND = 'PackageVariantSet';
/** Label on generated PackageVariants; its value is the set's UID. */
export const PACKAGE_VARIANT_SET_LABEL = 'packagevariant.dev/packagevariantset';

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

export const PackageVariantSetSpecSchema = Type.Object({
  upstream: Optional(UpstreamSchema),
  targets: Optional(Type.Array(TargetSchema)),
});
export type PackageVariantSetSpec = Static<typeof PackageVariantSetSpecSchema>;

export const PackageVariantSetStatusSchema = Type.Object({
  observedGeneration: Optional(Type.Integer({ format: 'int64' })),
  conditions: Optional(ConditionsSchema),
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
