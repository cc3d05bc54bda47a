// The resources an ApplyReplacements config can read or change, so that only those are sent to the
// WebAssembly function (most of its cost is kyaml reading and writing every item). kustomize's
// replacement filter picks a source by exact kind (ResId.IsSelectedBy) and targets by an anchored
// regular expression of the kind (types.SelectorRegex), and the same for the name when the selector
// has one; a resource that no selector picks is neither read nor changed. When a selector is less
// certain than a plain kind, every resource is sent.
import type { YAMLMap } from 'yaml';
import { annotationOf, kindOf, nameOf } from '../krm.ts';

/** kustomize also selects a resource by the ids it had before (api/internal/utils/annotations.go). */
const PREVIOUS_IDS = [
  'internal.config.kubernetes.io/previousKinds',
  'internal.config.kubernetes.io/previousNames',
  'internal.config.kubernetes.io/previousNamespaces',
];

// A kind or name that reads the same as a string and as an anchored regular expression.
const isPlainKind = (kind: unknown): kind is string => typeof kind === 'string' && /^[A-Za-z0-9]+$/.test(kind);
const isPlainName = (name: unknown): name is string => typeof name === 'string' && /^[a-z0-9-]+$/.test(name);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** A predicate over resources, or undefined when every resource must be sent. */
export function replacementScope(config: YAMLMap | undefined): ((node: YAMLMap) => boolean) | undefined {
  const spec: unknown = config?.toJSON();
  if (!isObject(spec) || !Array.isArray(spec.replacements)) return undefined;
  // kind → the names selected, or undefined when any name of the kind may be
  const picked = new Map<string, Set<string> | undefined>();
  const pick = (selector: Record<string, unknown> & { kind: string }) => {
    const names = picked.has(selector.kind) ? picked.get(selector.kind) : new Set<string>();
    picked.set(selector.kind, names && isPlainName(selector.name) ? names.add(selector.name) : undefined);
  };
  for (const replacement of spec.replacements as unknown[]) {
    if (!isObject(replacement) || !Array.isArray(replacement.targets)) return undefined;
    if (replacement.source !== undefined) {
      if (!isObject(replacement.source) || !isPlainKind(replacement.source.kind)) return undefined;
      pick(replacement.source as Record<string, unknown> & { kind: string });
    }
    for (const target of replacement.targets as unknown[]) {
      if (!isObject(target) || !isObject(target.select) || !isPlainKind(target.select.kind)) return undefined;
      // label and annotation selectors are checked (and can fail) on every resource, whatever its kind
      const rejects: unknown[] = Array.isArray(target.reject) ? target.reject : [];
      if ([target.select, ...rejects].some((s) => !isObject(s) || s.labelSelector || s.annotationSelector)) {
        return undefined;
      }
      pick(target.select as Record<string, unknown> & { kind: string });
    }
  }
  return (node) => {
    if (PREVIOUS_IDS.some((key) => annotationOf(node, key) !== undefined)) return true;
    const kind = kindOf(node);
    if (!picked.has(kind)) return false;
    const names = picked.get(kind);
    return names === undefined || names.has(nameOf(node));
  };
}
