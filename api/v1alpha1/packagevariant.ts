// PackageVariant: one upstream package → one downstream package. Field-for-field compatible with
// Porch's config.porch.kpt.dev/v1alpha1 PackageVariant; `upstream.git` and the extra status fields
// go beyond Porch and are optional.
import {
  ADOPTION_POLICIES,
  ConditionsSchema,
  DELETION_POLICIES,
  LastHandledReconcileAtSchema,
  ObjectMetaSchema,
  PipelineSchema,
  SuspendSchema,
  type KubeObject,
} from './common.ts';
import { Optional, StringEnum, StringMap, Type, type Static } from './schema.ts';

export const PACKAGE_VARIANT_KIND = 'PackageVariant';
export const PACKAGE_VARIANT_FINALIZER = 'packagevariant.dev/packagevariants';
/**
 * Set by a PackageVariantSet rollout on the variants it generates: while present, the variant makes
 * no draft that brings in a new upstream revision (clone or upgrade); its value says why.
 */
export const ROLLOUT_HOLD_ANNOTATION = 'packagevariant.dev/rollout-hold';
/** Ready reason of a variant whose upstream change waits for its rollout (`ROLLOUT_HOLD_ANNOTATION`). */
export const UPGRADE_HELD_REASON = 'UpgradeHeld';

export const PUBLISH_POLICIES = ['Manual', 'Automatic'] as const;
export type PublishPolicy = (typeof PUBLISH_POLICIES)[number];
export const PublishPolicySchema = StringEnum(
  PUBLISH_POLICIES,
  'Manual (default): drafts wait for a person. Automatic: a draft that merged without conflicts and whose readiness gates are all True is published.',
);

export const UpstreamGitSchema = Type.Object(
  {
    repo: Type.String({ description: 'URL of a git repository that is not registered as a Repository.' }),
    ref: Optional(Type.String({ description: 'Branch, tag or commit to follow. Default: the remote HEAD branch.' })),
    directory: Optional(Type.String({ description: 'Directory of the package inside the repository.' })),
    secretRef: Optional(Type.Object({ name: Type.String() })),
  },
  { description: 'Beyond Porch: an upstream package read straight from git.' },
);

export const UpstreamOciSchema = Type.Object(
  {
    image: Type.String({
      description:
        'Image reference `registry/repository[:tag][@sha256:digest]`. Without a tag or digest: the highest version tag (vN, vX.Y.Z), else `latest`.',
    }),
    secretRef: Optional(Type.Object({ name: Type.String() })),
  },
  { description: 'Beyond Porch: an upstream package read from an OCI registry (docs/oci.md).' },
);

export const UpstreamSchema = Type.Object({
  repo: Optional(Type.String({ description: 'Name of the Repository holding the upstream package.' })),
  package: Optional(Type.String({ description: 'Path of the upstream package in that repository.' })),
  revision: Optional(
    Type.Integer({
      description: 'Published revision to use. Unset (or -1): follow the latest published revision.',
    }),
  ),
  workspaceName: Optional(Type.String({ description: 'Workspace of the upstream package revision.' })),
  git: Optional(UpstreamGitSchema),
  oci: Optional(UpstreamOciSchema),
});
export type Upstream = Static<typeof UpstreamSchema>;

export const DownstreamSchema = Type.Object({
  repo: Optional(Type.String({ description: 'Name of the Repository that receives the variant.' })),
  package: Optional(Type.String({ description: 'Path of the variant in that repository.' })),
});
export type Downstream = Static<typeof DownstreamSchema>;

export const PackageContextSchema = Type.Object({
  data: Optional(StringMap('Keys to set in the kptfile.kpt.dev ConfigMap.')),
  removeKeys: Optional(Type.Array(Type.String(), { description: 'Keys to remove from it.' })),
});
export type PackageContext = Static<typeof PackageContextSchema>;

export const InjectionSelectorSchema = Type.Object({
  group: Optional(Type.String()),
  version: Optional(Type.String()),
  kind: Optional(Type.String()),
  name: Type.String(),
});
export type InjectionSelector = Static<typeof InjectionSelectorSchema>;

export const PackageVariantSpecSchema = Type.Object({
  upstream: Optional(UpstreamSchema),
  downstream: Optional(DownstreamSchema),
  adoptionPolicy: Optional(StringEnum(ADOPTION_POLICIES)),
  deletionPolicy: Optional(StringEnum(DELETION_POLICIES)),
  labels: Optional(StringMap()),
  annotations: Optional(StringMap()),
  packageContext: Optional(PackageContextSchema),
  pipeline: Optional(PipelineSchema),
  injectors: Optional(Type.Array(InjectionSelectorSchema)),
  publishPolicy: Optional(PublishPolicySchema),
  suspend: Optional(SuspendSchema),
});
export type PackageVariantSpec = Static<typeof PackageVariantSpecSchema>;

export const LIFECYCLES = ['Draft', 'Proposed', 'Published', 'DeletionProposed'] as const;
export type Lifecycle = (typeof LIFECYCLES)[number];

export const MergeConflictSchema = Type.Object({
  file: Type.String(),
  resource: Type.String({ description: 'apiVersion group, kind, namespace/name of the resource.' }),
  field: Type.String({ description: 'Path of the field inside the resource.' }),
  original: Optional(Type.String()),
  updated: Optional(Type.String()),
  local: Optional(Type.String()),
  winner: StringEnum(['upstream', 'local'] as const),
});
export type MergeConflict = Static<typeof MergeConflictSchema>;

export const DownstreamTargetSchema = Type.Object({
  name: Type.String({ description: 'Name of the downstream package revision.' }),
  renderStatus: Optional(Type.Unsafe<unknown>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true })),
  lifecycle: Optional(StringEnum(LIFECYCLES)),
  ref: Optional(Type.String({ description: 'Git ref holding the revision.' })),
  commit: Optional(Type.String()),
  upstreamCommit: Optional(Type.String({ description: 'Upstream commit the revision was made from.' })),
  conflicts: Optional(Type.Array(MergeConflictSchema)),
});
export type DownstreamTarget = Static<typeof DownstreamTargetSchema>;

export const UpstreamRevisionRefSchema = Type.Object({
  ref: Optional(
    Type.String({
      description: "Where the revision is: a published revision's tag (e.g. nginx/v2), a branch, or a commit.",
    }),
  ),
  revision: Optional(Type.Integer({ description: 'Published revision number, when it is a published revision.' })),
  commit: Type.String({ description: 'The upstream commit.' }),
});
export type UpstreamRevisionRef = Static<typeof UpstreamRevisionRefSchema>;

export const UpstreamStatusSchema = Type.Object(
  {
    latest: UpstreamRevisionRefSchema,
    locked: Optional(UpstreamRevisionRefSchema),
    behind: Optional(
      Type.Integer({
        minimum: 0,
        description:
          'How many upstream revisions the published downstream does not have: the published revisions after `locked` up to `latest` (1 when either is not a published revision and the package changed). 0: up to date. Absent while nothing is published.',
      }),
    ),
    behindSince: Optional(
      Type.String({
        format: 'date-time',
        description:
          'When the first of those upstream revisions was published (its commit time). Only when behind > 0.',
      }),
    ),
  },
  {
    description:
      'Beyond Porch: whether the published downstream is behind its upstream. `latest` is the upstream revision the variant follows now (the newest published revision, or the pinned revision, workspace or git ref); `locked` the one the latest published downstream revision is locked to (its Kptfile upstreamLock). Absent until the upstream was resolved.',
  },
);
export type UpstreamStatus = Static<typeof UpstreamStatusSchema>;

export const PackageVariantStatusSchema = Type.Object({
  observedGeneration: Optional(Type.Integer({ format: 'int64' })),
  conditions: Optional(ConditionsSchema),
  downstreamTargets: Optional(Type.Array(DownstreamTargetSchema)),
  upstream: Optional(UpstreamStatusSchema),
  lastHandledReconcileAt: Optional(LastHandledReconcileAtSchema),
});
export type PackageVariantStatus = Static<typeof PackageVariantStatusSchema>;

export const PackageVariantSchema = Type.Object({
  apiVersion: Optional(Type.String()),
  kind: Optional(Type.String()),
  metadata: Optional(ObjectMetaSchema),
  spec: Optional(PackageVariantSpecSchema),
  status: Optional(PackageVariantStatusSchema),
});

export interface PackageVariant extends KubeObject {
  spec?: PackageVariantSpec;
  status?: PackageVariantStatus;
}
