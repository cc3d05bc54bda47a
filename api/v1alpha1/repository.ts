// Repository: a git repository holding packages, or an OCI registry holding upstream packages
// (one image per package). Field-for-field compatible with Porch's config.porch.kpt.dev/v1alpha1
// Repository; OCI repositories are upstreams only (docs/oci.md).
import { ConditionsSchema, ObjectMetaSchema, type KubeObject } from './common.ts';
import { Optional, StringEnum, Type, type Static } from './schema.ts';

export const REPOSITORY_KIND = 'Repository';
export const DEFAULT_BRANCH = 'main';

export const SecretRefSchema = Type.Object({ name: Type.String({ description: 'Secret in the same namespace.' }) });

export const GitRepositorySchema = Type.Object({
  repo: Type.String({ description: 'URL of the repository: https://, http://, ssh://, user@host:path or file://.' }),
  branch: Optional(Type.String({ minLength: 1, description: 'Deployment branch. Default: main.' })),
  createBranch: Optional(Type.Boolean({ description: 'Create the branch when it does not exist.' })),
  directory: Optional(Type.String({ description: 'Directory holding the packages. Default: the root.' })),
  secretRef: Optional(SecretRefSchema),
  author: Optional(Type.String({ description: 'Author name of commits.' })),
  email: Optional(Type.String({ description: 'Author email of commits.' })),
});
export type GitRepository = Static<typeof GitRepositorySchema>;

export const RepositorySpecSchema = Type.Object({
  description: Optional(Type.String()),
  type: Optional(StringEnum(['git', 'oci'] as const)),
  content: Optional(StringEnum(['Package'] as const)),
  deployment: Optional(Type.Boolean({ description: 'A deployment repository holds variants, not blueprints.' })),
  git: Optional(GitRepositorySchema),
  oci: Optional(
    Type.Object({
      registry: Type.String({
        description:
          'Registry and repository prefix, e.g. `ghcr.io/acme/blueprints`: package P is the image `<registry>/P`, its revisions are tags.',
      }),
      secretRef: Optional(SecretRefSchema),
    }),
  ),
  sync: Optional(
    Type.Object({
      schedule: Optional(Type.String()),
      runOnceAt: Optional(Type.String({ format: 'date-time' })),
    }),
  ),
});
export type RepositorySpec = Static<typeof RepositorySpecSchema>;

export const RepositoryStatusSchema = Type.Object({
  observedGeneration: Optional(Type.Integer({ format: 'int64' })),
  conditions: Optional(ConditionsSchema),
});

export const RepositorySchema = Type.Object({
  apiVersion: Optional(Type.String()),
  kind: Optional(Type.String()),
  metadata: Optional(ObjectMetaSchema),
  spec: Optional(RepositorySpecSchema),
  status: Optional(RepositoryStatusSchema),
});

export interface Repository extends KubeObject {
  spec?: RepositorySpec;
  status?: Static<typeof RepositoryStatusSchema>;
}
