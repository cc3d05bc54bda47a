// Rendering one target context into a PackageVariant spec: static template fields, then CEL
// expressions, in Porch's order — repoExpr, then the downstream Repository is loaded and bound as
// `repository`, then everything else.
import type {
  FunctionTemplate,
  KptFunction,
  KubeObject,
  MapExpr,
  PackageVariantSet,
  PackageVariantSpec,
  Repository,
} from '../../api/v1alpha1/index.ts';
import { objectMap, TemplateError, type CelInputs, type TemplateEvaluator } from './cel.ts';
import type { TargetContext } from './targets.ts';

export interface RenderResult {
  spec: PackageVariantSpec;
  /** The downstream Repository, when the template made the renderer load it. */
  repository?: Repository;
}

/**
 * What `upstream` means in a set's expressions. Porch binds the upstream PackageRevision; a set here
 * has none, so `upstream` is the upstream Repository's name, namespace, labels and annotations, plus
 * `repo` and `package` from `spec.upstream`.
 */
export function upstreamMap(pvs: PackageVariantSet, upstreamRepo: Repository | undefined): Record<string, unknown> {
  const upstream = pvs.spec?.upstream;
  return {
    ...objectMap(upstreamRepo ?? { metadata: { name: upstream?.repo ?? '', namespace: pvs.metadata?.namespace } }),
    repo: upstream?.repo ?? '',
    package: upstream?.package ?? '',
  };
}

/** `target`: the selected object's 4-key map, or `{repo, package}` for a `repositories` target. */
export function targetMap(context: TargetContext): Record<string, unknown> {
  return context.object ? objectMap(context.object) : { repo: context.repoDefault, package: context.packageDefault };
}

/** Copies `base` and applies each entry in order: key from `key`/`keyExpr`, value from `value`/`valueExpr`. */
export function overlayMapExprs(
  base: Record<string, string> | undefined,
  exprs: readonly MapExpr[] | undefined,
  field: string,
  evaluate: (field: string, expr: string) => string,
): Record<string, string> {
  const result: Record<string, string> = { ...base };
  (exprs ?? []).forEach((entry, i) => {
    const at = `${field}[${i}]`;
    const key = entry.keyExpr ? evaluate(`${at}.keyExpr`, entry.keyExpr) : (entry.key ?? '');
    const value = entry.valueExpr ? evaluate(`${at}.valueExpr`, entry.valueExpr) : (entry.value ?? '');
    result[key] = value;
  });
  return result;
}

const nonEmpty = <T extends object>(value: T): T | undefined => (Object.keys(value).length ? value : undefined);

export function renderVariantSpec(
  pvs: PackageVariantSet,
  context: TargetContext,
  inputs: { repositories: ReadonlyMap<string, Repository>; upstream: Record<string, unknown> },
  cel: TemplateEvaluator,
): RenderResult {
  const upstream = structuredClone(pvs.spec!.upstream!);
  const template = context.template;
  if (!template) {
    return { spec: { upstream, downstream: { repo: context.repoDefault, package: context.packageDefault } } };
  }
  const path = `spec.targets[${context.target}].template`;
  const vars: CelInputs = {
    repoDefault: context.repoDefault,
    packageDefault: context.packageDefault,
    upstream: inputs.upstream,
    target: targetMap(context),
  };
  const evaluate = (field: string, expr: string) => cel.evaluate(`${path}.${field}`, expr, vars);

  let repo = context.repoDefault;
  if (template.downstream?.repo) repo = template.downstream.repo;
  if (template.downstream?.repoExpr) repo = evaluate('downstream.repoExpr', template.downstream.repoExpr);
  const repository = inputs.repositories.get(repo);
  if (!repository) throw new TemplateError(`${path}.downstream`, `repository "${repo}" could not be loaded`);
  vars.repository = objectMap(repository);

  let pkg = context.packageDefault;
  if (template.downstream?.package) pkg = template.downstream.package;
  if (template.downstream?.packageExpr) pkg = evaluate('downstream.packageExpr', template.downstream.packageExpr);

  const spec: PackageVariantSpec = { upstream, downstream: { repo, package: pkg } };
  if (template.adoptionPolicy) spec.adoptionPolicy = template.adoptionPolicy;
  if (template.deletionPolicy) spec.deletionPolicy = template.deletionPolicy;

  const labels = nonEmpty(overlayMapExprs(template.labels, template.labelExprs, 'labelExprs', evaluate));
  if (labels) spec.labels = labels;
  const annotations = nonEmpty(
    overlayMapExprs(template.annotations, template.annotationExprs, 'annotationExprs', evaluate),
  );
  if (annotations) spec.annotations = annotations;

  const context_ = template.packageContext;
  if (context_) {
    const data = nonEmpty(overlayMapExprs(context_.data, context_.dataExprs, 'packageContext.dataExprs', evaluate));
    const removeKeys = new Set(context_.removeKeys ?? []);
    (context_.removeKeyExprs ?? []).forEach((expr, i) =>
      removeKeys.add(evaluate(`packageContext.removeKeyExprs[${i}]`, expr)),
    );
    spec.packageContext = {
      ...(data ? { data } : {}),
      ...(removeKeys.size ? { removeKeys: [...removeKeys].sort() } : {}),
    };
  }

  if (template.injectors?.length) {
    spec.injectors = template.injectors.map((injector, i) => ({
      ...(injector.group ? { group: injector.group } : {}),
      ...(injector.version ? { version: injector.version } : {}),
      ...(injector.kind ? { kind: injector.kind } : {}),
      name: injector.nameExpr ? evaluate(`injectors[${i}].nameExpr`, injector.nameExpr) : (injector.name ?? ''),
    }));
  }

  const functions = (kind: 'validators' | 'mutators') =>
    (template.pipeline?.[kind] ?? []).map((fn, i) =>
      renderFunction(fn, `pipeline.${kind}[${i}].configMapExprs`, evaluate),
    );
  const validators = functions('validators');
  const mutators = functions('mutators');
  if (validators.length || mutators.length) {
    spec.pipeline = {
      ...(validators.length ? { validators } : {}),
      ...(mutators.length ? { mutators } : {}),
    };
  }
  return { spec, repository };
}

function renderFunction(
  fn: FunctionTemplate,
  field: string,
  evaluate: (field: string, expr: string) => string,
): KptFunction {
  const { configMapExprs, ...rest } = fn;
  const result: KptFunction = structuredClone(rest);
  if (configMapExprs?.length) {
    const configMap = nonEmpty(overlayMapExprs(fn.configMap, configMapExprs, field, evaluate));
    if (configMap) result.configMap = configMap;
  }
  return result;
}

/** Labels that place a target in a rollout stage: the selected object's, else the downstream Repository's. */
export function stageLabels(context: TargetContext, repository: KubeObject | undefined): Record<string, string> {
  return { ...(context.object ?? repository)?.metadata?.labels };
}
