// set-labels (catalog functions/go/set-labels): labels in metadata, selectors and templates of the
// built-in workload kinds. Re-done from the catalog's behaviour, quirks included: every label at
// every visited path counts toward "set N labels in total", set or not.
import { isMap, isScalar, isSeq, type YAMLMap } from 'yaml';
import { getField, getIn } from '../../kpt/yaml.ts';
import { isLocalConfig, kindOf, nameOf, setString } from '../krm.ts';
import type { FunctionOutput, ResourceList, ResultItem } from '../types.ts';
import {
  decodeRunnerConfig,
  decodeStringMap,
  error,
  finish,
  info,
  isEmptyFunctionConfig,
  isEmptyObject,
  isGVK,
  warning,
} from './sdk.ts';

type Path = string[];

class LabelSetter {
  count = 0;
  private readonly labels: Record<string, string>;
  constructor(labels: Record<string, string>) {
    this.labels = labels;
  }

  /** Sets each label at `path` where it exists with another value, or where missing when `create`. */
  update(o: unknown, path: Path, create: boolean): string | undefined {
    if (!isMap(o)) return undefined;
    for (const key of Object.keys(this.labels).sort()) {
      const value = this.labels[key]!;
      const current = getIn(o, [...path, key]);
      if (
        current !== undefined &&
        !(isScalar(current) && (typeof current.value === 'string' || current.value === null))
      ) {
        return `${[...path, key].join('.')} is not a string`;
      }
      const exists = current !== undefined;
      const old = exists ? String((current as { value: unknown }).value ?? '') : '';
      if ((exists && old !== value) || (!exists && create)) {
        // the SDK cannot set below a field that is not a map
        if (!this.canSet(o, path)) return `${path.join('.')} is not a map`;
        setString(o, [...path, key], value);
      }
      this.count++;
    }
    return undefined;
  }

  private canSet(o: YAMLMap, path: Path): boolean {
    let node: unknown = o;
    for (const key of path) {
      node = getField(node, key);
      if (node === undefined || (isScalar(node) && node.value === null)) return true;
      if (!isMap(node)) return false;
    }
    return true;
  }

  meta(o: unknown) {
    return this.update(o, ['metadata', 'labels'], true);
  }

  pod(pod: unknown): string | undefined {
    if (!isMap(pod)) return undefined;
    const e = this.meta(pod);
    if (e) return e;
    const spec = getField(pod, 'spec');
    if (!isMap(spec)) return undefined;
    const spread = getField(spec, 'topologySpreadConstraints');
    if (isSeq(spread)) {
      for (const c of spread.items) {
        const e2 = this.update(c, ['labelSelector', 'matchLabels'], false);
        if (e2) return e2;
      }
    }
    const affinity = getField(spec, 'affinity');
    if (isMap(affinity)) {
      for (const kind of ['podAffinity', 'podAntiAffinity']) {
        if (!isMap(getField(affinity, kind))) continue;
        // as the catalog does: the terms are looked up on `affinity` itself
        const preferred = getField(affinity, 'preferredDuringSchedulingIgnoredDuringExecution');
        for (const term of isSeq(preferred) ? preferred.items : []) {
          const e2 = this.update(getField(term, 'podAffinityTerm'), ['labelSelector', 'matchLabels'], false);
          if (e2) return e2;
        }
        const required = getField(affinity, 'requiredDuringSchedulingIgnoredDuringExecution');
        for (const term of isSeq(required) ? required.items : []) {
          const e2 = this.update(term, ['labelSelector', 'matchLabels'], false);
          if (e2) return e2;
        }
      }
    }
    return undefined;
  }
}

const containsPodSpec = (o: unknown) =>
  isGVK(o, '', 'v1', 'ReplicationController') ||
  ['Deployment', 'ReplicaSet', 'DaemonSet'].some((k) => isGVK(o, '', '', k)) ||
  isGVK(o, 'apps', '', 'StatefulSet') ||
  isGVK(o, 'batch', '', 'Job');

function labelObject(s: LabelSetter, o: YAMLMap): string | undefined {
  const e =
    s.meta(o) ??
    (isGVK(o, '', 'v1', 'Service') || isGVK(o, '', 'v1', 'ReplicationController')
      ? s.update(o, ['spec', 'selector'], true)
      : undefined) ??
    (['Deployment', 'ReplicaSet', 'DaemonSet'].some((k) => isGVK(o, '', '', k)) || isGVK(o, 'apps', '', 'StatefulSet')
      ? s.update(o, ['spec', 'selector', 'matchLabels'], true)
      : isGVK(o, 'batch', '', 'Job') || isGVK(o, 'policy', '', 'PodDisruptionBudget')
        ? s.update(o, ['spec', 'selector', 'matchLabels'], false)
        : undefined) ??
    (isGVK(o, 'networking.k8s.io', '', 'NetworkPolicy')
      ? s.update(o, ['spec', 'podSelector', 'matchLabels'], false)
      : undefined);
  if (e) return e;
  const spec = getField(o, 'spec');
  if (!isMap(spec)) return undefined;
  if (containsPodSpec(o)) s.pod(getField(spec, 'template')); // the catalog ignores errors here
  if (isGVK(o, 'batch', '', 'CronJob')) {
    const job = getField(spec, 'jobTemplate');
    if (isMap(job)) {
      const e2 =
        s.meta(job) ??
        s.update(getField(job, 'spec'), ['selector', 'matchLabels'], false) ??
        s.pod(getIn(job, ['spec', 'template']));
      if (e2) return e2;
    }
  }
  if (isGVK(o, 'apps', '', 'StatefulSet')) {
    const volumes = getField(spec, 'volumeClaimTemplates');
    for (const v of isSeq(volumes) ? volumes.items : []) {
      if (!isMap(v)) continue;
      const e2 = s.meta(v) ?? s.update(v, ['selector', 'matchLabels'], false);
      if (e2) return e2;
    }
  }
  if (isGVK(o, 'networking.k8s.io', '', 'NetworkPolicy')) {
    for (const [list, peers] of [
      ['ingress', 'from'],
      ['egress', 'to'],
    ] as const) {
      const rules = getField(spec, list);
      for (const rule of isSeq(rules) ? rules.items : []) {
        const p = getField(rule, peers);
        for (const peer of isSeq(p) ? p.items : []) {
          const e2 = s.update(peer, ['podSelector', 'matchLabels'], false);
          if (e2) return e2;
        }
      }
    }
  }
  return undefined;
}

export function setLabels(list: ResourceList): FunctionOutput {
  const results: ResultItem[] = [];
  const config = list.functionConfig;
  let labels: Record<string, string> = {};
  if (isEmptyObject(config) || isEmptyFunctionConfig(config)) {
    results.push(info('`FunctionConfig` is not given'));
  } else {
    const problem = decodeRunnerConfig(
      config!,
      'SetLabels',
      (data) => (labels = data),
      (o) => {
        const decoded = decodeStringMap(o, 'labels', '*setlabels.SetLabels');
        if (typeof decoded === 'string') return decoded;
        labels = decoded;
        return undefined;
      },
    );
    if (problem) return finish(list.items, [...results, error(problem)], false);
  }
  const objects = list.items.filter((o) => !isLocalConfig(o));
  if (objects.length === 0) return finish(list.items, [...results, info('no input resources')], true);
  if (!config || (kindOf(config) === '' && nameOf(config) === '') || isEmptyFunctionConfig(config)) {
    return finish(list.items, results, false);
  }
  if (Object.keys(labels).length === 0) {
    return finish(list.items, [...results, warning('no `labels` arguments are given in FunctionConfig')], true);
  }
  const setter = new LabelSetter(labels);
  for (const o of objects) {
    const problem = labelObject(setter, o);
    if (problem) results.push(error(problem));
  }
  results.push(info(`set ${setter.count} labels in total`));
  return finish(list.items, results, !results.some((r) => r.severity === 'error'));
}
