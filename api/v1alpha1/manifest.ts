// Validation of manifest objects of any kind, as the API server admits them: apiVersion and kind,
// metadata, the CRD schema, then the semantic rules; and, over a whole input, duplicate names.
// What `pvctl validate` and the local adapter run on every object they read.
import { API_VERSION, GROUP, type KubeObject } from './common.ts';
import { child, formatFieldError, invalid, required, type FieldError } from './field-errors.ts';
import { checkDnsLabel, checkDnsSubdomain } from './names.ts';
import { PACKAGE_VARIANT_KIND, PackageVariantSchema, type PackageVariant } from './packagevariant.ts';
import { PACKAGE_VARIANT_SET_KIND, PackageVariantSetSchema, type PackageVariantSet } from './packagevariantset.ts';
import { REPOSITORY_KIND, RepositorySchema, type Repository } from './repository.ts';
import { pruneNulls, validateSchema } from './schema-validation.ts';
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

const stringMap = { type: 'object', additionalProperties: { type: 'string' } };
const timestamp = { type: 'string', format: 'date-time' };

/** metav1.ObjectMeta as the API server decodes it (what `kubectl get -o yaml` prints is accepted). */
const ObjectMetaCheck = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    generateName: { type: 'string' },
    namespace: { type: 'string' },
    selfLink: { type: 'string' },
    uid: { type: 'string' },
    resourceVersion: { type: 'string' },
    generation: { type: 'integer' },
    creationTimestamp: timestamp,
    deletionTimestamp: timestamp,
    deletionGracePeriodSeconds: { type: 'integer' },
    labels: stringMap,
    annotations: stringMap,
    finalizers: { type: 'array', items: { type: 'string' } },
    ownerReferences: {
      type: 'array',
      items: {
        type: 'object',
        required: ['apiVersion', 'kind', 'name', 'uid'],
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          name: { type: 'string' },
          uid: { type: 'string' },
          controller: { type: 'boolean' },
          blockOwnerDeletion: { type: 'boolean' },
        },
      },
    },
    managedFields: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
  },
};

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const core = (properties: Record<string, object>) => ({
  type: 'object',
  properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...properties },
});
/** Core kinds the controller reads as inputs (credentials, injection sources), with their data maps. */
const CORE_KINDS: Record<string, { schema: object; maps: Record<string, 'base64' | 'text'> }> = {
  Secret: {
    schema: core({ type: { type: 'string' }, immutable: { type: 'boolean' }, data: stringMap, stringData: stringMap }),
    maps: { data: 'base64', stringData: 'text' },
  },
  ConfigMap: {
    schema: core({ immutable: { type: 'boolean' }, data: stringMap, binaryData: stringMap }),
    maps: { data: 'text', binaryData: 'base64' },
  },
};

export function isOurKind(obj: KubeObject): boolean {
  return obj.apiVersion === API_VERSION && typeof obj.kind === 'string' && Object.hasOwn(KINDS, obj.kind);
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/** One of our kinds, spelled almost right (`PackageVariantt`, `packagevariant`, `Repositories`). */
function nearKind(kind: string): string | undefined {
  return Object.keys(KINDS).find((k) => distance(k.toLowerCase(), kind.toLowerCase()) <= 2);
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** A label or annotation key: `[prefix/]name`, prefix a DNS subdomain, name at most 63 characters. */
function checkQualifiedName(key: string): string | undefined {
  const parts = key.split('/');
  const name = parts.pop()!;
  if (parts.length > 1) return "must have at most one '/'";
  if (parts.length === 1 && (parts[0] === '' || checkDnsSubdomain(parts[0]!))) return 'prefix must be a DNS subdomain';
  if (name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return "name part must be at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric";
  }
  return undefined;
}

function checkLabelValue(value: string): string | undefined {
  if (value === '') return undefined;
  return value.length > 63 || !QUALIFIED_NAME.test(value)
    ? "must be at most 63 alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"
    : undefined;
}

/** The metadata every kind shares: types, namespace, label and annotation keys, the name for `nameRule`. */
function validateMetadata(metadata: unknown, nameRule?: (name: string) => string | undefined): FieldError[] {
  if (metadata === undefined || metadata === null) return nameRule ? [required('metadata.name')] : [];
  const errors = validateSchema(metadata, ObjectMetaCheck, 'metadata');
  if (errors.length) return errors;
  const meta = metadata as NonNullable<KubeObject['metadata']>;
  if (nameRule) {
    if (!meta.name) errors.push(required('metadata.name'));
    else if (nameRule(meta.name)) errors.push(invalid('metadata.name', meta.name, nameRule(meta.name)!));
  }
  if (meta.namespace && checkDnsLabel(meta.namespace)) {
    errors.push(invalid('metadata.namespace', meta.namespace, checkDnsLabel(meta.namespace)!));
  }
  for (const [field, values] of [
    ['labels', meta.labels],
    ['annotations', meta.annotations],
  ] as const) {
    for (const [key, value] of Object.entries(values ?? {})) {
      const path = child(`metadata.${field}`, key);
      const keyReason = checkQualifiedName(key);
      const valueReason = field === 'labels' ? checkLabelValue(value) : undefined;
      if (keyReason) errors.push(invalid(path, key, `key ${keyReason}`));
      else if (valueReason) errors.push(invalid(path, value, valueReason));
    }
  }
  return errors;
}

/** Any other kind's name: a path segment (what the API server requires of every name). */
function checkPathSegment(name: string): string | undefined {
  if (name === '.' || name === '..') return "may not be '.' or '..'";
  return /[/%]/.test(name) ? "may not contain '/' or '%'" : undefined;
}

function validateCore(o: KubeObject): FieldError[] {
  const kind = CORE_KINDS[o.kind!]!;
  const errors = [...validateMetadata(o.metadata, checkDnsSubdomain), ...validateSchema(o, kind.schema, '')];
  for (const [field, encoding] of Object.entries(kind.maps)) {
    const map = o[field];
    if (typeof map !== 'object' || map === null) continue;
    for (const [key, value] of Object.entries(map)) {
      if (!DATA_KEY.test(key) || key.length > 253) {
        errors.push(invalid(child(field, key), key, "a key must consist of alphanumerics, '-', '_' or '.'"));
      } else if (encoding === 'base64' && typeof value === 'string' && !BASE64.test(value)) {
        errors.push(invalid(child(field, key), '<hidden>', 'must be base64 data'));
      }
    }
  }
  return errors;
}

/**
 * The problems of one object. Our kinds get the CRD schema and the semantic rules; Secrets and
 * ConfigMaps their schema; any other kind (an injection source, a set's target object) must be a
 * well-formed object with a name, unless its kind or group says it was meant to be one of ours.
 */
export function validateManifest(obj: unknown): FieldError[] {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return [invalid('<document>', obj, 'must be a Kubernetes object (a YAML mapping)')];
  }
  const o = obj as KubeObject;
  if (!o.apiVersion) return [required('apiVersion')];
  if (typeof o.apiVersion !== 'string') return [invalid('apiVersion', o.apiVersion, 'must be a string')];
  if (!o.kind) return [required('kind')];
  if (typeof o.kind !== 'string') return [invalid('kind', o.kind, 'must be a string')];
  if (o.apiVersion === 'v1' && Object.hasOwn(CORE_KINDS, o.kind)) return validateCore(o);
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '';
  const ours = group === GROUP || PORCH_GROUPS.includes(group);
  const near = nearKind(o.kind);
  if (!Object.hasOwn(KINDS, o.kind) && !ours && !near) return validateMetadata(o.metadata, checkPathSegment);
  if (PORCH_GROUPS.includes(group) && Object.hasOwn(KINDS, o.kind)) {
    return [invalid('apiVersion', o.apiVersion, `this is a Porch manifest; use apiVersion ${API_VERSION}`)];
  }
  if (!Object.hasOwn(KINDS, o.kind)) {
    const hint = near ? `did you mean ${near}? ` : '';
    return [
      invalid(
        'kind',
        o.kind,
        `unknown kind; ${hint}expected one of ${Object.keys(KINDS).join(', ')} (${API_VERSION}), or v1 Secret/ConfigMap`,
      ),
    ];
  }
  if (o.apiVersion !== API_VERSION) {
    const hint = group === GROUP ? 'unsupported version' : 'wrong group';
    return [invalid('apiVersion', o.apiVersion, `${hint}; expected ${API_VERSION}`)];
  }
  const kind = KINDS[o.kind as keyof typeof KINDS];
  const schemaErrors = validateMetadata(o.metadata);
  schemaErrors.push(...validateSchema(obj, kind.schema, '').filter((e) => !covered(schemaErrors, e)));
  // The semantic rules assume the schema's types; on a mistyped object they may throw. Report what
  // they find, except on fields the schema check already named.
  let semanticErrors: FieldError[];
  try {
    semanticErrors = kind.validate(o);
  } catch {
    return schemaErrors;
  }
  return [...schemaErrors, ...semanticErrors.filter((e) => !covered(schemaErrors, e))];
}

/** Whether `errors` already name the field of `e`, or a field that holds it. */
function covered(errors: FieldError[], e: FieldError): boolean {
  return errors.some(
    (r) => r.field === e.field || e.field.startsWith(`${r.field}.`) || e.field.startsWith(`${r.field}[`),
  );
}

/** `group/kind/namespace/name` (the version does not make another object), or undefined without a name. */
function identity(obj: unknown): string | undefined {
  const o = obj as KubeObject;
  const name = o?.metadata?.name;
  if (typeof name !== 'string' || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return undefined;
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  return `${group}/${o.kind}/${o.metadata?.namespace ?? 'default'}/${name}`;
}

/**
 * The problems of each object of one input, duplicates included: two objects of one kind, namespace
 * and name are both refused (the API server would keep only one of them). `where(i)` names object i.
 */
export function validateManifests(objects: unknown[], where = (i: number) => `object ${i}`): FieldError[][] {
  const results = objects.map(validateManifest);
  const first = new Map<string, number>();
  objects.forEach((obj, i) => {
    const id = identity(obj);
    if (id === undefined) return;
    const j = first.get(id);
    if (j === undefined) return void first.set(id, i);
    const o = obj as KubeObject;
    const duplicate = (other: number): FieldError => ({
      field: 'metadata.name',
      type: 'Duplicate',
      value: o.metadata!.name,
      detail: `${o.kind} ${o.metadata?.namespace ?? 'default'}/${o.metadata!.name} is also defined in ${where(other)}`,
    });
    results[i]!.push(duplicate(j));
    if (!results[j]!.some((e) => e.type === 'Duplicate')) results[j]!.push(duplicate(i));
  });
  return results;
}

/** The object as the API server stores it: null fields dropped where a schema knows them. */
export function withoutNulls<T>(obj: T): T {
  const o = obj as KubeObject;
  const schema =
    o.apiVersion === 'v1'
      ? Object.hasOwn(CORE_KINDS, o.kind ?? '')
        ? CORE_KINDS[o.kind!]!.schema
        : undefined
      : isOurKind(o)
        ? KINDS[o.kind as keyof typeof KINDS].schema
        : undefined;
  const pruned = (schema ? pruneNulls(o, schema) : o) as KubeObject;
  return (o.metadata ? { ...pruned, metadata: pruneNulls(o.metadata, ObjectMetaCheck) } : pruned) as T;
}

export function describeFieldErrors(errors: FieldError[]): string {
  return errors.map(formatFieldError).join('; ');
}
