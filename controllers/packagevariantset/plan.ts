// What a set reconcile changes among its generated variants, decided without the API: from the
// desired variants (rendered from the targets) and the existing ones, which to delete (retargeted
// or duplicated), which to update (spec or rollout hold changed), which to create, and the rollout
// plan that says which may start an upstream change now. Pure; the reconciler performs it.
import {
  API_VERSION,
  PACKAGE_VARIANT_FINALIZER,
  PACKAGE_VARIANT_SET_KIND,
  PACKAGE_VARIANT_SET_LABEL,
  ROLLOUT_HOLD_ANNOTATION,
  type PackageVariant,
  type PackageVariantSet,
  type PackageVariantSpec,
} from '../../api/v1alpha1/index.ts';
import { jsonEqual } from './equal.ts';
import { variantIdentity } from './naming.ts';
import { planRollout, variantState, type RolloutPlan, type VariantState } from './rollout.ts';

export interface DesiredVariant {
  identity: string;
  name: string;
  spec: PackageVariantSpec;
  labels: Record<string, string>;
  source: string;
}

export type VariantChange =
  | { write: 'none'; variant: PackageVariant }
  | { write: 'update'; variant: PackageVariant }
  | { write: 'create'; variant: PackageVariant };

export interface SetChanges {
  /** Names of the generated variants to delete: retargeted or removed entries, and duplicates. */
  deletes: string[];
  /** One per desired variant whose name is free (in desired order). */
  variants: VariantChange[];
  states: VariantState[];
  /** Desired variants whose state is failed. */
  failed: string[];
  plan: RolloutPlan;
  /** A desired variant waits for a terminating one of its name to go. */
  terminating: boolean;
}

export function planSetChanges(
  pvs: PackageVariantSet,
  desired: readonly DesiredVariant[],
  existing: readonly PackageVariant[],
): SetChanges {
  const setName = pvs.metadata!.name!;
  const live = new Map<string, PackageVariant>();
  const terminatingNames = new Set<string>();
  const extras: PackageVariant[] = [];
  for (const pv of existing) {
    if (pv.metadata?.deletionTimestamp) {
      terminatingNames.add(pv.metadata.name!);
      continue;
    }
    const identity = variantIdentity(setName, pv.spec);
    if (live.has(identity)) extras.push(pv);
    else live.set(identity, pv);
  }
  const wanted = new Set(desired.map((d) => d.identity));
  const deletes = [...extras, ...[...live].filter(([id]) => !wanted.has(id)).map(([, pv]) => pv)].map(
    (pv) => pv.metadata!.name!,
  );
  const states = new Map<string, VariantState>(desired.map((d) => [d.identity, variantState(live.get(d.identity))]));
  const plan = planRollout(
    setName,
    pvs.spec?.rollout,
    desired.map((d) => {
      const pv = live.get(d.identity);
      const unheld = !!pv && pv.metadata?.annotations?.[ROLLOUT_HOLD_ANNOTATION] === undefined;
      return { name: d.name, labels: d.labels, state: states.get(d.identity)!, unheld };
    }),
  );
  const publishPolicy = pvs.spec?.rollout?.publishPolicy;
  const variants: VariantChange[] = [];
  let terminating = false;
  for (const d of desired) {
    const current = live.get(d.identity);
    const rendered: PackageVariantSpec = publishPolicy ? { ...d.spec, publishPolicy } : d.spec;
    // `spec.suspend` of a generated variant is a person's (`pvctl suspend pvar`): the set keeps it.
    const suspend = current?.spec?.suspend;
    const spec: PackageVariantSpec = suspend !== undefined ? { ...rendered, suspend } : rendered;
    const hold = plan.holds.get(d.name);
    if (current) {
      const annotations = withHold(current.metadata?.annotations, hold);
      const same = jsonEqual(current.spec, spec) && jsonEqual(current.metadata?.annotations ?? {}, annotations);
      variants.push(
        same
          ? { write: 'none', variant: current }
          : { write: 'update', variant: { ...current, metadata: { ...current.metadata, annotations }, spec } },
      );
    } else if (terminatingNames.has(d.name)) terminating = true;
    else variants.push({ write: 'create', variant: generatedVariant(pvs, d, spec, hold) });
  }
  const failed = desired.filter((d) => states.get(d.identity) === 'failed').map((d) => d.name);
  return { deletes, variants, states: [...states.values()], failed, plan, terminating };
}

function namespaceOf(pvs: PackageVariantSet): string {
  return pvs.metadata?.namespace ?? 'default';
}

function withHold(annotations: Record<string, string> | undefined, hold: string | undefined): Record<string, string> {
  const { [ROLLOUT_HOLD_ANNOTATION]: _previous, ...rest } = annotations ?? {};
  return hold ? { ...rest, [ROLLOUT_HOLD_ANNOTATION]: hold } : rest;
}

function generatedVariant(
  pvs: PackageVariantSet,
  desired: DesiredVariant,
  spec: PackageVariantSpec,
  hold: string | undefined,
): PackageVariant {
  const annotations = withHold(undefined, hold);
  return {
    apiVersion: API_VERSION,
    kind: 'PackageVariant',
    metadata: {
      name: desired.name,
      namespace: namespaceOf(pvs),
      labels: { [PACKAGE_VARIANT_SET_LABEL]: pvs.metadata!.uid! },
      ...(Object.keys(annotations).length ? { annotations } : {}),
      finalizers: [PACKAGE_VARIANT_FINALIZER],
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: PACKAGE_VARIANT_SET_KIND,
          name: pvs.metadata!.name!,
          uid: pvs.metadata!.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
  };
}
