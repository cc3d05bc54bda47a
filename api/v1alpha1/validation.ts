// Semantic validation: every rule Porch's controllers check at reconcile time (same order), plus
// the safety rules for names, paths and URLs that reach git. Pure functions returning field errors.
import { celLimitViolation, DEFAULT_CEL_LIMITS, MAX_EXPRESSION_LENGTH, type CelLimits } from './cel-cost.ts';
import { ADOPTION_POLICIES, DELETION_POLICIES, type KptFunction, type ObjectMeta } from './common.ts';
import { InvalidReferenceError, parseReference } from './image-reference.ts';
import { child, forbidden, invalid, notSupported, required, type FieldError } from './field-errors.ts';
import {
  checkBranchName,
  checkDirectory,
  checkDnsLabel,
  checkDnsSubdomain,
  checkGitUrl,
  checkPackagePath,
  checkWorkspaceName,
  redactUrl,
} from './names.ts';
import { PUBLISH_POLICIES, type PackageVariant, type PackageVariantSpec, type Upstream } from './packagevariant.ts';
import type { MapExpr, PackageVariantSet, PackageVariantTemplate, Rollout, Target } from './packagevariantset.ts';
import type { Repository } from './repository.ts';

/** Keys of the package context that kpt owns. */
export const RESERVED_PACKAGE_CONTEXT_KEYS = ['name', 'package-path'] as const;

function check(
  errors: FieldError[],
  field: string,
  value: string | undefined,
  rule: (v: string) => string | undefined,
) {
  if (value === undefined || value === '') return;
  const reason = rule(value);
  if (reason) errors.push(invalid(field, rule === checkGitUrl ? redactUrl(value) : value, reason));
}

function validateMetadata(metadata: ObjectMeta | undefined, nameRule: (v: string) => string | undefined): FieldError[] {
  const errors: FieldError[] = [];
  if (!metadata?.name) errors.push(required('metadata.name'));
  else check(errors, 'metadata.name', metadata.name, nameRule);
  check(errors, 'metadata.namespace', metadata?.namespace, checkDnsLabel);
  return errors;
}

/** Why an image reference is invalid (lib/oci/reference.ts's grammar), undefined when valid. */
function checkImageReference(image: string): string | undefined {
  try {
    parseReference(image);
    return undefined;
  } catch (error) {
    if (error instanceof InvalidReferenceError) return error.message.replace(/^invalid image reference "[^"]*": /, '');
    throw error;
  }
}

/** `host[:port][/repository prefix]`: a registry named explicitly (never Docker Hub by default), no tag or digest. */
function checkOciRegistry(registry: string): string | undefined {
  const [host = '', ...prefix] = registry.split('/');
  if (/[@:]/.test(prefix.join('/'))) return 'a registry and repository prefix has no tag or digest';
  const invalid = checkImageReference(`${registry}/package`);
  if (invalid) return invalid;
  if (parseReference(`${registry}/package`).registry !== host) {
    return 'must start with a registry host (with a dot or a port, or localhost), e.g. ghcr.io/acme/blueprints';
  }
  return undefined;
}

/** Upstream of a PackageVariant: a registered Repository + package, or (beyond Porch) `git` or `oci`. */
function validateUpstream(upstream: Upstream | undefined, path: string): FieldError[] {
  if (!upstream) return [required(path)];
  const errors: FieldError[] = [];
  if (upstream.oci) {
    for (const field of ['repo', 'package', 'workspaceName', 'git'] as const) {
      if (upstream[field]) errors.push(forbidden(child(path, field), `may not be set together with ${path}.oci`));
    }
    if (upstream.revision !== undefined && upstream.revision !== -1) {
      errors.push(
        forbidden(`${path}.revision`, `may not be set together with ${path}.oci (name the tag in the image)`),
      );
    }
    if (!upstream.oci.image) errors.push(required(`${path}.oci.image`));
    check(errors, `${path}.oci.image`, upstream.oci.image, checkImageReference);
    check(errors, `${path}.oci.secretRef.name`, upstream.oci.secretRef?.name, checkDnsSubdomain);
    return errors;
  }
  if (upstream.git) {
    for (const field of ['repo', 'package', 'workspaceName'] as const) {
      if (upstream[field]) errors.push(forbidden(child(path, field), `may not be set together with ${path}.git`));
    }
    if (!upstream.git.repo) errors.push(required(`${path}.git.repo`));
    if (!upstream.git.directory?.replace(/^\/+|\/+$/g, '')) {
      errors.push(required(`${path}.git.directory`, 'the directory of the package in the repository'));
    }
    check(errors, `${path}.git.repo`, upstream.git.repo, checkGitUrl);
    check(errors, `${path}.git.ref`, upstream.git.ref, checkBranchName);
    check(errors, `${path}.git.directory`, upstream.git.directory, checkDirectory);
    check(errors, `${path}.git.secretRef.name`, upstream.git.secretRef?.name, checkDnsSubdomain);
    return errors;
  }
  if (!upstream.repo) errors.push(required(`${path}.repo`));
  if (!upstream.package) errors.push(required(`${path}.package`));
  check(errors, `${path}.repo`, upstream.repo, checkDnsLabel);
  check(errors, `${path}.package`, upstream.package, checkPackagePath);
  check(errors, `${path}.workspaceName`, upstream.workspaceName, checkWorkspaceName);
  if (upstream.revision !== undefined && upstream.revision < -1) {
    errors.push(invalid(`${path}.revision`, upstream.revision, 'must be -1 (latest published) or a revision number'));
  }
  return errors;
}

function validatePolicies(spec: { adoptionPolicy?: string; deletionPolicy?: string }, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (spec.adoptionPolicy && !(ADOPTION_POLICIES as readonly string[]).includes(spec.adoptionPolicy)) {
    errors.push(notSupported(`${path}.adoptionPolicy`, spec.adoptionPolicy, ADOPTION_POLICIES));
  }
  if (spec.deletionPolicy && !(DELETION_POLICIES as readonly string[]).includes(spec.deletionPolicy)) {
    errors.push(notSupported(`${path}.deletionPolicy`, spec.deletionPolicy, DELETION_POLICIES));
  }
  return errors;
}

function validatePublishPolicy(policy: string | undefined, path: string): FieldError[] {
  if (policy && !(PUBLISH_POLICIES as readonly string[]).includes(policy)) {
    return [notSupported(path, policy, PUBLISH_POLICIES)];
  }
  return [];
}

function validateRollout(rollout: Rollout, path: string): FieldError[] {
  const errors = validatePublishPolicy(rollout.publishPolicy, `${path}.publishPolicy`);
  const seen = new Set<string>();
  (rollout.stages ?? []).forEach((stage, i) => {
    const at = `${path}.stages[${i}].name`;
    if (!stage.name) errors.push(required(at));
    else if (seen.has(stage.name)) errors.push({ field: at, type: 'Duplicate', value: stage.name });
    seen.add(stage.name);
  });
  if (rollout.maxConcurrent !== undefined && !(Number.isInteger(rollout.maxConcurrent) && rollout.maxConcurrent >= 1)) {
    errors.push(invalid(`${path}.maxConcurrent`, rollout.maxConcurrent, 'must be a positive integer'));
  }
  if (rollout.maxFailures !== undefined && !(Number.isInteger(rollout.maxFailures) && rollout.maxFailures >= 0)) {
    errors.push(invalid(`${path}.maxFailures`, rollout.maxFailures, 'must be zero or a positive integer'));
  }
  return errors;
}

function validateFunctions(functions: KptFunction[] | undefined, path: string): FieldError[] {
  const errors: FieldError[] = [];
  (functions ?? []).forEach((fn, i) => {
    const at = child(path, i);
    if (!fn.image && !fn.exec) errors.push(required(`${at}.image`, 'a function needs an image or exec'));
    if (fn.image && fn.exec) errors.push(forbidden(at, 'may specify only one of `image` and `exec`'));
    if (fn.name?.includes('.')) errors.push(invalid(`${at}.name`, fn.name, "must not contain '.'"));
  });
  return errors;
}

export function validatePackageVariantSpec(spec: PackageVariantSpec | undefined, path = 'spec'): FieldError[] {
  if (!spec) return [required(`${path}.upstream`), required(`${path}.downstream`)];
  const errors = validateUpstream(spec.upstream, `${path}.upstream`);
  if (!spec.downstream) {
    errors.push(required(`${path}.downstream`));
  } else {
    if (!spec.downstream.repo) errors.push(required(`${path}.downstream.repo`));
    if (!spec.downstream.package) errors.push(required(`${path}.downstream.package`));
    check(errors, `${path}.downstream.repo`, spec.downstream.repo, checkDnsLabel);
    check(errors, `${path}.downstream.package`, spec.downstream.package, checkPackagePath);
  }
  errors.push(...validatePolicies(spec, path));
  errors.push(...validatePublishPolicy(spec.publishPolicy, `${path}.publishPolicy`));
  const context = spec.packageContext;
  for (const key of RESERVED_PACKAGE_CONTEXT_KEYS) {
    if (context?.data && key in context.data) {
      errors.push(invalid(`${path}.packageContext.data`, context.data, `must not contain the key "${key}"`));
    }
    if (context?.removeKeys?.includes(key)) {
      errors.push(
        invalid(`${path}.packageContext.removeKeys`, context.removeKeys, `must not contain the key "${key}"`),
      );
    }
  }
  (spec.injectors ?? []).forEach((injector, i) => {
    if (!injector.name) errors.push(required(`${path}.injectors[${i}].name`, 'must not be empty'));
  });
  errors.push(...validateFunctions(spec.pipeline?.validators, `${path}.pipeline.validators`));
  errors.push(...validateFunctions(spec.pipeline?.mutators, `${path}.pipeline.mutators`));
  return errors;
}

export function validatePackageVariant(pv: PackageVariant): FieldError[] {
  return [...validateMetadata(pv.metadata, checkDnsSubdomain), ...validatePackageVariantSpec(pv.spec)];
}

function validateMapExprs(exprs: MapExpr[] | undefined, path: string): FieldError[] {
  const errors: FieldError[] = [];
  (exprs ?? []).forEach((expr, i) => {
    const at = child(path, i);
    if (expr.key && expr.keyExpr) errors.push(forbidden(at, 'may specify only one of `key` and `keyExpr`'));
    if (expr.value && expr.valueExpr) errors.push(forbidden(at, 'may specify only one of `value` and `valueExpr`'));
    if (!expr.key && !expr.keyExpr) errors.push(required(`${at}.key`, 'must specify either `key` or `keyExpr`'));
  });
  return errors;
}

function validateTemplate(template: PackageVariantTemplate, path: string): FieldError[] {
  const errors = validatePolicies(template, path);
  const downstream = template.downstream;
  if (downstream?.repo && downstream.repoExpr) {
    errors.push(forbidden(`${path}.downstream`, 'may specify only one of `downstream.repo` and `downstream.repoExpr`'));
  }
  if (downstream?.package && downstream.packageExpr) {
    errors.push(
      forbidden(`${path}.downstream`, 'may specify only one of `downstream.package` and `downstream.packageExpr`'),
    );
  }
  check(errors, `${path}.downstream.repo`, downstream?.repo, checkDnsLabel);
  check(errors, `${path}.downstream.package`, downstream?.package, checkPackagePath);
  errors.push(...validateMapExprs(template.labelExprs, `${path}.labelExprs`));
  errors.push(...validateMapExprs(template.annotationExprs, `${path}.annotationExprs`));
  errors.push(...validateMapExprs(template.packageContext?.dataExprs, `${path}.packageContext.dataExprs`));
  for (const key of RESERVED_PACKAGE_CONTEXT_KEYS) {
    if (template.packageContext?.data && key in template.packageContext.data) {
      errors.push(
        invalid(`${path}.packageContext.data`, template.packageContext.data, `must not contain the key "${key}"`),
      );
    }
    if (template.packageContext?.removeKeys?.includes(key)) {
      const keys = template.packageContext.removeKeys;
      errors.push(invalid(`${path}.packageContext.removeKeys`, keys, `must not contain the key "${key}"`));
    }
  }
  (template.injectors ?? []).forEach((injector, i) => {
    const at = child(`${path}.injectors`, i);
    if (injector.name && injector.nameExpr) errors.push(forbidden(at, 'may specify only one of `name` and `nameExpr`'));
    if (!injector.name && !injector.nameExpr)
      errors.push(required(`${at}.name`, 'must specify either `name` or `nameExpr`'));
  });
  for (const kind of ['validators', 'mutators'] as const) {
    const functions = template.pipeline?.[kind];
    errors.push(...validateFunctions(functions, `${path}.pipeline.${kind}`));
    functions?.forEach((fn, i) =>
      errors.push(...validateMapExprs(fn.configMapExprs, `${path}.pipeline.${kind}[${i}].configMapExprs`)),
    );
  }
  return errors;
}

/** Every CEL expression of a template, by field path. */
function templateExpressions(template: PackageVariantTemplate, path: string): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  const add = (field: string, text: string | undefined) => {
    if (text) found.push([field, text]);
  };
  const mapExprs = (exprs: MapExpr[] | undefined, at: string) =>
    (exprs ?? []).forEach((e, i) => {
      add(`${at}[${i}].keyExpr`, e.keyExpr);
      add(`${at}[${i}].valueExpr`, e.valueExpr);
    });
  add(`${path}.downstream.repoExpr`, template.downstream?.repoExpr);
  add(`${path}.downstream.packageExpr`, template.downstream?.packageExpr);
  mapExprs(template.labelExprs, `${path}.labelExprs`);
  mapExprs(template.annotationExprs, `${path}.annotationExprs`);
  mapExprs(template.packageContext?.dataExprs, `${path}.packageContext.dataExprs`);
  (template.packageContext?.removeKeyExprs ?? []).forEach((e, i) =>
    add(`${path}.packageContext.removeKeyExprs[${i}]`, e),
  );
  (template.injectors ?? []).forEach((injector, i) => add(`${path}.injectors[${i}].nameExpr`, injector.nameExpr));
  for (const kind of ['validators', 'mutators'] as const) {
    (template.pipeline?.[kind] ?? []).forEach((fn, i) =>
      mapExprs(fn.configMapExprs, `${path}.pipeline.${kind}[${i}].configMapExprs`),
    );
  }
  return found;
}

/** Expressions too long or too costly to run (syntax errors are reported when the template renders). */
function validateExpressionCosts(template: PackageVariantTemplate, path: string, limits: CelLimits): FieldError[] {
  const errors: FieldError[] = [];
  for (const [field, text] of templateExpressions(template, path)) {
    if (text.length > MAX_EXPRESSION_LENGTH) {
      errors.push({ field, type: 'TooLong', detail: `may not be longer than ${MAX_EXPRESSION_LENGTH} characters` });
      continue;
    }
    const violation = celLimitViolation(text, limits);
    if (violation) errors.push(invalid(field, text, violation));
  }
  return errors;
}

function validateTarget(target: Target, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const chosen = [target.repositories, target.repositorySelector, target.objectSelector].filter((t) => t !== undefined);
  if (chosen.length !== 1) {
    errors.push(
      invalid(
        path,
        Object.keys(target).filter((k) => k !== 'template'),
        'must specify one of `repositories`, `repositorySelector`, or `objectSelector`',
      ),
    );
  }
  if (target.repositories) {
    if (target.repositories.length === 0) {
      errors.push(required(`${path}.repositories`, 'must not be an empty list if specified'));
    }
    target.repositories.forEach((repo, j) => {
      const at = `${path}.repositories[${j}]`;
      if (!repo.name) errors.push(required(`${at}.name`, 'cannot be empty'));
      check(errors, `${at}.name`, repo.name, checkDnsLabel);
      (repo.packageNames ?? []).forEach((name, k) => {
        if (!name) errors.push(required(`${at}.packageNames[${k}]`, 'cannot be empty'));
        check(errors, `${at}.packageNames[${k}]`, name, checkPackagePath);
      });
    });
  }
  if (target.objectSelector) {
    if (!target.objectSelector.apiVersion)
      errors.push(required(`${path}.objectSelector.apiVersion`, 'cannot be empty'));
    if (!target.objectSelector.kind) errors.push(required(`${path}.objectSelector.kind`, 'cannot be empty'));
  }
  if (target.template) errors.push(...validateTemplate(target.template, `${path}.template`));
  return errors;
}

export function validatePackageVariantSet(pvs: PackageVariantSet, celLimits = DEFAULT_CEL_LIMITS): FieldError[] {
  const errors = validateMetadata(pvs.metadata, checkDnsSubdomain);
  const spec = pvs.spec;
  const upstream = spec?.upstream;
  if (!upstream) {
    errors.push(required('spec.upstream'));
  } else {
    if (!upstream.package) errors.push(required('spec.upstream.package'));
    if (!upstream.repo) errors.push(required('spec.upstream.repo'));
    check(errors, 'spec.upstream.repo', upstream.repo, checkDnsLabel);
    check(errors, 'spec.upstream.package', upstream.package, checkPackagePath);
    check(errors, 'spec.upstream.workspaceName', upstream.workspaceName, checkWorkspaceName);
    if (!upstream.revision && !upstream.workspaceName) {
      errors.push(
        required(
          'spec.upstream.revision',
          'either spec.upstream.revision or spec.upstream.workspaceName must be specified (revision -1 follows the latest published revision)',
        ),
      );
    }
    if (upstream.git) errors.push(forbidden('spec.upstream.git', 'is supported on PackageVariant only'));
    if (upstream.oci)
      errors.push(
        forbidden(
          'spec.upstream.oci',
          'is supported on PackageVariant only (a set names an OCI Repository in spec.upstream.repo)',
        ),
      );
  }
  if (!spec?.targets?.length) errors.push(required('spec.targets', 'must specify at least one item'));
  spec?.targets?.forEach((target, i) => {
    errors.push(...validateTarget(target, `spec.targets[${i}]`));
    if (target.template) {
      errors.push(...validateExpressionCosts(target.template, `spec.targets[${i}].template`, celLimits));
    }
  });
  if (spec?.rollout) errors.push(...validateRollout(spec.rollout, 'spec.rollout'));
  return errors;
}

export function validateRepository(repo: Repository): FieldError[] {
  const errors = validateMetadata(repo.metadata, checkDnsLabel);
  const spec = repo.spec;
  if (spec?.type === 'oci') {
    const oci = spec.oci;
    if (spec.git) errors.push(forbidden('spec.git', 'may not be set on a repository of type oci'));
    if (spec.deployment) errors.push(forbidden('spec.deployment', 'an OCI repository is an upstream only'));
    if (!oci?.registry) return [...errors, required('spec.oci.registry')];
    check(errors, 'spec.oci.registry', oci.registry, checkOciRegistry);
    check(errors, 'spec.oci.secretRef.name', oci.secretRef?.name, checkDnsSubdomain);
    return errors;
  }
  if (spec?.oci) errors.push(forbidden('spec.oci', 'is read only on a repository of type oci'));
  const git = spec?.git;
  if (!git) return [...errors, required('spec.git')];
  if (!git.repo) errors.push(required('spec.git.repo'));
  check(errors, 'spec.git.repo', git.repo, checkGitUrl);
  check(errors, 'spec.git.branch', git.branch, checkBranchName);
  check(errors, 'spec.git.directory', git.directory, checkDirectory);
  check(errors, 'spec.git.secretRef.name', git.secretRef?.name, checkDnsSubdomain);
  return errors;
}
