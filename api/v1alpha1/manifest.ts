// Validation of one manifest object of any kind: apiVersion and kind, the CRD schema, then the
// semantic rules. What `pvctl validate` and the local adapter run on every object they read.
import { API_VERSION, GROUP, type KubeObject } from './common.ts';
import { formatFieldError, invalid, required, type FieldError } from './field-errors.ts';
import { PACKAGE_VARIANT_KIND, PackageVariantSchema, type PackageVariant } from './packagevariant.ts';
import { PACKAGE_VARIANT_SET_KIND, PackageVariantSetSchema, type PackageVariantSet } from './packagevariantset.ts';
import { REPOSITORY_KIND, RepositorySchema, type Repository } from './repository.ts';
import { validateSchema } from './schema-validation.ts';
import { validatePackageVariant, validatePackageVariantSet, validateRepository } from './validation.ts';

const PORCH_GROUPS = ['config.porch.kpt.dev', 'porch.kpt.dev'];

export const KINDS = {
  [PACKAGE_VARIANT_KIND]: {
    schema: PackageVariantSchema,
    validate: (o: KubeObject) => validatePackageVariant(o as PackageVariant),
  },
  [PACKAGE_VARIANT_SET_KIND]: {
    schema: PackageVariantSetSchema,
    validate: (o: KubeObject) => validatePackageVariantSet(o as PackageVariantSet),
  },
  [REPOSITORY_KIND]: { schema: RepositorySchema, validate: (o: KubeObject) => validateRepository(o as Repository) },
} as const;

/** Core kinds the controller reads as inputs (credentials, injection sources); checked for a name only. */
const CORE_INPUT_KINDS = ['Secret', 'ConfigMap'];

export function isOurKind(obj: KubeObject): boolean {
  return obj.apiVersion === API_VERSION && typeof obj.kind === 'string' && obj.kind in KINDS;
}

export function validateManifest(obj: unknown): FieldError[] {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return [invalid('<document>', obj, 'must be a Kubernetes object (a YAML mapping)')];
  }
  const o = obj as KubeObject;
  if (!o.apiVersion) return [required('apiVersion')];
  if (!o.kind) return [required('kind')];
  if (o.apiVersion === 'v1' && CORE_INPUT_KINDS.includes(o.kind)) {
    return o.metadata?.name ? [] : [required('metadata.name')];
  }
  const group = o.apiVersion.split('/')[0] ?? '';
  if (PORCH_GROUPS.includes(group) && o.kind in KINDS) {
    return [invalid('apiVersion', o.apiVersion, `this is a Porch manifest; use apiVersion ${API_VERSION}`)];
  }
  if (!(o.kind in KINDS)) {
    return [
      invalid(
        'kind',
        o.kind,
        `unknown kind; expected one of ${Object.keys(KINDS).join(', ')} (${API_VERSION}), or v1 Secret/ConfigMap`,
      ),
    ];
  }
  if (o.apiVersion !== API_VERSION) {
    const hint = group === GROUP ? 'unsupported version' : 'wrong group';
    return [invalid('apiVersion', o.apiVersion, `${hint}; expected ${API_VERSION}`)];
  }
  const kind = KINDS[o.kind as keyof typeof KINDS];
  const schemaErrors = validateSchema(obj, kind.schema, '');
  // The semantic rules assume the schema's types; on a mistyped object they may throw. Report what
  // they find, except on fields the schema check already named.
  let semanticErrors: FieldError[];
  try {
    semanticErrors = kind.validate(o);
  } catch {
    return schemaErrors;
  }
  const reported = new Set(schemaErrors.map((e) => e.field));
  return [...schemaErrors, ...semanticErrors.filter((e) => !reported.has(e.field))];
}

export function describeFieldErrors(errors: FieldError[]): string {
  return errors.map(formatFieldError).join('; ');
}
