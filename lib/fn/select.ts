// `selectors` and `exclude` of a pipeline entry, as kpt matches them (pkg/fn/runtime/utils.go): a
// selector matches when every field it sets matches; a resource is selected when any selector matches
// (all resources when there are none) and no non-empty exclusion matches.
import type { YAMLMap } from 'yaml';
import { annotationsOf, apiVersionOf, kindOf, labelsOf, nameOf, namespaceOf } from './krm.ts';
import type { Selector } from './types.ts';

function isEmpty(s: Selector): boolean {
  return (
    !s.apiVersion &&
    !s.kind &&
    !s.name &&
    !s.namespace &&
    Object.keys(s.labels ?? {}).length === 0 &&
    Object.keys(s.annotations ?? {}).length === 0
  );
}

function subset(want: Record<string, string> | undefined, have: Record<string, string>): boolean {
  return Object.entries(want ?? {}).every(([k, v]) => have[k] === v);
}

export function matches(node: YAMLMap, s: Selector): boolean {
  return (
    (!s.name || s.name === nameOf(node)) &&
    (!s.namespace || s.namespace === namespaceOf(node)) &&
    (!s.kind || s.kind === kindOf(node)) &&
    (!s.apiVersion || s.apiVersion === apiVersionOf(node)) &&
    subset(s.labels, labelsOf(node)) &&
    subset(s.annotations, annotationsOf(node))
  );
}

/** Indexes of the selected nodes, in input order. */
export function select(nodes: YAMLMap[], selectors: Selector[] = [], exclude: Selector[] = []): number[] {
  const out: number[] = [];
  nodes.forEach((node, i) => {
    if (selectors.length && !selectors.some((s) => matches(node, s))) return;
    if (exclude.some((s) => !isEmpty(s) && matches(node, s))) return;
    out.push(i);
  });
  return out;
}
