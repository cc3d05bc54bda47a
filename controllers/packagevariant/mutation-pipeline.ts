// Pipeline functions a PackageVariant declares (`spec.pipeline`), named
// `PackageVariant.<pv>.<fn>.<index>` in the Kptfile. lib/kpt's setPackageVariantFunctions does the
// list surgery, but it recognises a PV's functions by splitting the name on every dot, so a PV whose
// name contains dots (a valid DNS subdomain) never recognises its own functions, and it does not
// check that the index is an integer. Here ownership is decided by prefix, and the helper only ever
// sees a dot-free stand-in name.
import type { Pipeline } from '../../api/v1alpha1/index.ts';
import { packageVariantFunctionName, setPackageVariantFunctions, type Kptfile } from '../../lib/kpt/kptfile.ts';
import { getField, isScalar, isSeq, scalarString } from '../../lib/kpt/yaml.ts';
import { MutationError } from './mutation-error.ts';

const PREFIX = 'PackageVariant';
// What follows `PackageVariant.<pv>.`: a function name without dots and an integer (as Go's Atoi reads it).
const OWNED_REST = /^[^.]*\.[+-]?\d+$/;

/** `PackageVariant.<pv>.<fn>.<index>` (Porch's generatePVFuncName). */
export function packageVariantFunctionNameFor(functionName: string, packageVariant: string, index: number): string {
  return packageVariantFunctionName(packageVariant, functionName, index);
}

/** Whether a Kptfile function name was generated for the PackageVariant `packageVariant`. */
export function isPackageVariantFunction(name: string | undefined, packageVariant: string): boolean {
  if (!name) return false;
  const start = `${PREFIX}.${packageVariant}.`;
  return name.startsWith(start) && OWNED_REST.test(name.slice(start.length));
}

function nameNodes(kptfile: Kptfile) {
  const pipeline = getField(kptfile.contents, 'pipeline');
  const out = [];
  for (const list of ['mutators', 'validators']) {
    const seq = getField(pipeline, list);
    if (!isSeq(seq)) continue;
    for (const item of seq.items) {
      const node = getField(item, 'name');
      if (isScalar(node) && scalarString(node) !== undefined) out.push(node);
    }
  }
  return out;
}

/**
 * Makes the Kptfile pipeline carry exactly `pipeline`'s functions for the PackageVariant
 * `packageVariant`, before all others; functions of other PVs and of the package stay. Returns
 * whether the Kptfile changed.
 */
export function setPipelineFunctions(
  kptfile: Kptfile,
  packageVariant: string,
  pipeline: Pipeline | undefined,
): boolean {
  for (const list of ['mutators', 'validators'] as const) {
    (pipeline?.[list] ?? []).forEach((fn, i) => {
      // with a dot in the function name, `PackageVariant.a.b.c.0` would belong to PV `a` and to PV `a.b`
      if (fn.name?.includes('.')) {
        throw new MutationError(`spec.pipeline.${list}[${i}].name: must not contain '.' (got "${fn.name}")`, {
          field: `spec.pipeline.${list}[${i}].name`,
        });
      }
    });
  }
  const existing = nameNodes(kptfile);
  const taken = new Set(existing.map((n) => String(n.value).split('.')[1]));
  let standIn = 'pv';
  for (let i = 0; taken.has(standIn); i++) standIn = `pv${i}`;
  const prefix = `${PREFIX}.${packageVariant}.`;
  const standInPrefix = `${PREFIX}.${standIn}.`;
  for (const node of existing) {
    const name = String(node.value);
    if (isPackageVariantFunction(name, packageVariant)) node.value = standInPrefix + name.slice(prefix.length);
  }
  const changed = setPackageVariantFunctions(kptfile, standIn, {
    mutators: pipeline?.mutators ?? [],
    validators: pipeline?.validators ?? [],
  });
  for (const node of nameNodes(kptfile)) {
    const name = String(node.value);
    if (name.startsWith(standInPrefix)) node.value = prefix + name.slice(standInPrefix.length);
  }
  return changed;
}
