// What the Go function SDK (krm-functions-sdk go/fn) does around a catalog function, re-done for the
// built-ins: results with severities, the "function failure" exit, and the config decoding of
// `fn.WithContext` runners (a ConfigMap's `data`, or the function's own `fn.kpt.dev` kind).
import { isMap, isScalar, type YAMLMap } from 'yaml';
import { getField, getIn } from '../../kpt/yaml.ts';
import { apiVersionOf, groupOf, kindOf, nameOf, stringMap } from '../krm.ts';
import type { FunctionOutput, ResultItem } from '../types.ts';

export const FN_GROUP = 'fn.kpt.dev';

export const info = (message: string): ResultItem => ({ message, severity: 'info' });
export const warning = (message: string): ResultItem => ({ message, severity: 'warning' });
export const error = (message: string): ResultItem => ({ message, severity: 'error' });

/** The output of a function that returned (items, results, success) from the SDK's AsMain. */
export function finish(items: YAMLMap[], results: ResultItem[], success: boolean): FunctionOutput {
  if (success) return { items, results, exitCode: 0 };
  return {
    results,
    error: 'function failure',
    exitCode: 1,
    stderr: 'failed to evaluate function: error: function failure',
  };
}

/** `fn.KubeObject.IsEmpty`: no functionConfig, or an empty map. */
export const isEmptyObject = (o: YAMLMap | undefined) => !o || o.items.length === 0;

/** `schema.GroupKind.String()`: `Kind.group`, or `Kind` for the core group. */
export const groupKind = (o: unknown) => (groupOf(o) ? `${kindOf(o)}.${groupOf(o)}` : kindOf(o));

export const isGVK = (o: unknown, group: string, version: string, kind: string) => {
  const [g, v] = apiVersionOf(o).includes('/') ? apiVersionOf(o).split('/', 2) : ['', apiVersionOf(o)];
  return (group === '' || g === group) && (version === '' || v === version) && (kind === '' || kindOf(o) === kind);
};

/** `fn.EmptyFunctionConfig`: the ConfigMap kpt makes from an empty `configMap`. */
export function isEmptyFunctionConfig(o: YAMLMap | undefined): boolean {
  const data = getField(o, 'data');
  if (!isMap(data)) return false;
  return kindOf(o) === 'ConfigMap' && nameOf(o) === 'function-input' && data.items.length === 0;
}

/**
 * `fn.WithContext` config decoding: `ConfigMap` data goes to the runner's string map; the runner's
 * own kind (`fn.kpt.dev/<Kind>`) is decoded by `decode`; anything else is an error. Returns the
 * error message, or undefined.
 */
export function decodeRunnerConfig(
  o: YAMLMap,
  runnerKind: string,
  onConfigMap: (data: Record<string, string>) => void,
  decode: (o: YAMLMap) => string | undefined,
): string | undefined {
  if (kindOf(o) === 'ConfigMap' && groupOf(o) === '') {
    onConfigMap(stringMap(getField(o, 'data')));
    return undefined;
  }
  if (kindOf(o) === runnerKind && groupOf(o) === FN_GROUP) return decode(o);
  return `unknown FunctionConfig \`${groupKind(o)}\`, expect \`${runnerKind}.${FN_GROUP}\` or \`ConfigMap.v1\``;
}

/**
 * A string map field of a config object, or the error the SDK's `KubeObject.As` (JSON decoding
 * into the Go struct `pointerType`, e.g. `*setlabels.SetLabels`) gives for a value of another type.
 */
export function decodeStringMap(o: YAMLMap, field: string, pointerType: string): Record<string, string> | string {
  const struct = pointerType.slice(pointerType.lastIndexOf('.') + 1);
  const fail = (node: unknown, at: string, type: string) =>
    `unable to convert object to ${pointerType} with error: json: cannot unmarshal ${jsonKind(node)} into Go struct field ${struct}.${at} of type ${type}`;
  const node = getIn(o, [field]);
  if (node === undefined || (isScalar(node) && node.value === null)) return {};
  if (!isMap(node)) return fail(node, field, 'map[string]string');
  for (const pair of node.items) {
    const v = pair.value;
    if (!isScalar(v) || (v.value !== null && typeof v.value !== 'string')) {
      return fail(v, `${field}.${isScalar(pair.key) ? String(pair.key.value) : ''}`, 'string');
    }
  }
  return stringMap(node);
}

function jsonKind(node: unknown): string {
  if (isMap(node)) return 'object';
  if (isScalar(node)) {
    if (typeof node.value === 'number') return 'number';
    if (typeof node.value === 'boolean') return 'bool';
    if (typeof node.value === 'string') return 'string';
  }
  return 'array';
}
