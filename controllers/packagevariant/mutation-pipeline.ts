// Pipeline functions a PackageVariant declares (`spec.pipeline`), named
// `PackageVariant.<pv>.<fn>.<index>` in the Kptfile (see lib/kpt's setPackageVariantFunctions).
import type { Pipeline } from '../../api/v1alpha1/index.ts';
import { setPackageVariantFunctions, type Kptfile } from '../../lib/kpt/kptfile.ts';
import { MutationError } from './mutation-error.ts';

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
  return setPackageVariantFunctions(kptfile, packageVariant, {
    mutators: pipeline?.mutators ?? [],
    validators: pipeline?.validators ?? [],
  });
}
