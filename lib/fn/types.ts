// The KRM function contract as kpt speaks it: results (kpt's `FunctionResultList`, api/fnresult/v1)
// and the pipeline entries of a Kptfile (`pipeline.mutators` / `pipeline.validators`).
import type { YAMLMap } from 'yaml';

export type Severity = 'error' | 'warning' | 'info';

/** One result a function reported (`ResultList.items[].results[]`; the Go SDK's `fn.Result`). */
export interface ResultItem {
  message: string;
  severity?: Severity;
  resourceRef?: { apiVersion?: string; kind?: string; name?: string; namespace?: string };
  field?: { path?: string; currentValue?: unknown; proposedValue?: unknown };
  file?: { path?: string; index?: number };
  tags?: Record<string, string>;
}

/** What one function run produced (`fnresult/v1.Result`). */
export interface FunctionResult {
  image?: string;
  exec?: string;
  stderr?: string;
  exitCode: number;
  results?: ResultItem[];
}

/** Every function run of a render, in order (`kpt.dev/v1 FunctionResultList`). */
export interface ResultList {
  apiVersion: 'kpt.dev/v1';
  kind: 'FunctionResultList';
  metadata: { name: 'fnresults' };
  exitCode: number;
  items: FunctionResult[];
}

export function newResultList(): ResultList {
  return {
    apiVersion: 'kpt.dev/v1',
    kind: 'FunctionResultList',
    metadata: { name: 'fnresults' },
    exitCode: 0,
    items: [],
  };
}

/** A selector of a pipeline entry (`selectors` / `exclude`). */
export interface Selector {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** One pipeline entry of a Kptfile. */
export interface FunctionSpec {
  image?: string;
  exec?: string;
  name?: string;
  tag?: string;
  configPath?: string;
  configMap?: Record<string, string>;
  selectors?: Selector[];
  exclude?: Selector[];
}

/** What a function gets and gives back: the items and config of a ResourceList, as YAML nodes. */
export interface ResourceList {
  items: YAMLMap[];
  functionConfig?: YAMLMap;
  /**
   * Per item, the document text it was parsed from when it has not changed since (without kpt's
   * annotations): a runtime that reads YAML may read that instead of the item written out again.
   */
  sources?: readonly (string | undefined)[];
}

/** The outcome of one function: its output items (when it produced any) and its results. */
export interface FunctionOutput {
  items?: YAMLMap[];
  /** Output items that are the very input nodes, which the function did not change (no patch, no copy). */
  unchanged?: ReadonlySet<YAMLMap>;
  results: ResultItem[];
  /** A failure of the function itself (non-zero exit, timeout, refused runtime); the output is then discarded. */
  error?: string;
  exitCode?: number;
  stderr?: string;
}
