// set-namespace (catalog functions/go/set-namespace): the namespace of namespace-scoped resources,
// of `Namespace` objects, of the service references of CRDs and APIServices, of RoleBinding and
// ClusterRoleBinding subjects, and the `config.kubernetes.io/depends-on` annotations that point at
// renamed resources. Re-done from the catalog's behaviour (origin logic and `namespaceMatcher`).
import { isMap, isSeq, type YAMLMap } from 'yaml';
import { getField } from '../../kpt/yaml.ts';
import {
  UPSTREAM_IDENTIFIER,
  annotationOf,
  annotationsOf,
  groupOf,
  isLocalConfig,
  isNamespaceScoped,
  kindOf,
  nameOf,
  setAnnotation,
  setString,
  str,
  stringMap,
} from '../krm.ts';
import type { FunctionOutput, ResourceList, ResultItem } from '../types.ts';
import { error, finish, info, isEmptyObject, isGVK } from './sdk.ts';

const CONFIG_KIND = 'SetNamespace';
const DEPENDS_ON = 'config.kubernetes.io/depends-on';
const UNKNOWN_NS = '~C';
const NS_SCOPED_DEPENDS_ON = /^([-.\w]*)\/namespaces\/([-.\w]*)\/([-.\w]*)\/([-.\w]*)$/;
const UPSTREAM_ID = /([a-z0-9-.]*)\|([A-Z][a-zA-Z0-9]*)\|([a-z0-9-]{1,63}|~C)\|([a-z0-9-]{1,63})/;

interface Config {
  namespace: string;
  matcher: string;
}

function readConfig(o: YAMLMap | undefined): Config | string {
  if (isEmptyObject(o)) {
    return `FunctionConfig is missing. Expect \`ConfigMap.v1\` or \`${CONFIG_KIND}.v1alpha1.fn.kpt.dev\``;
  }
  if (isGVK(o, '', 'v1', 'ConfigMap') && groupOf(o) === '') {
    const data = stringMap(getField(o, 'data'));
    const matcher = data.namespaceMatcher ?? '';
    if (data.namespace) return { namespace: data.namespace, matcher };
    if (data.name && nameOf(o) === 'kptfile.kpt.dev') return { namespace: data.name, matcher };
    return '`data.namespace` should not be empty';
  }
  if (isGVK(o, 'fn.kpt.dev', 'v1alpha1', CONFIG_KIND)) {
    const namespace = str(o, 'namespace');
    if (!namespace) return '`namespace` should not be empty';
    return { namespace, matcher: str(o, 'namespaceMatcher') };
  }
  return `unknown functionConfig Kind=${kindOf(o)} ApiVersion=${str(o, 'apiVersion')}, expect \`ConfigMap.v1\` or \`${CONFIG_KIND}.v1alpha1.fn.kpt.dev\``;
}

/** The SDK's ResourceIdentifier: the namespace is `default` for namespaced objects without one, `~C` for the others. */
function idOf(o: YAMLMap) {
  const hasNs = isMap(getField(o, 'metadata')) && getField(getField(o, 'metadata'), 'namespace') !== undefined;
  const namespace = hasNs ? str(o, 'metadata', 'namespace') : isNamespaceScoped(o) ? 'default' : UNKNOWN_NS;
  return { group: groupOf(o), kind: kindOf(o), namespace, name: nameOf(o) };
}

function originOf(o: YAMLMap) {
  const upstream = annotationOf(o, UPSTREAM_IDENTIFIER);
  if (upstream) {
    const m = UPSTREAM_ID.exec(upstream.trim());
    if (!m)
      throw new Error(
        `annotation ${UPSTREAM_IDENTIFIER}: ${upstream} is in bad format. expect "<GROUP>|<KIND>|<NAMESPACE>|<NAME>"`,
      );
    return { group: m[1]!, kind: m[2]!, namespace: m[3]!, name: m[4]! };
  }
  return idOf(o);
}

const shortString = (o: YAMLMap) =>
  `Resource(apiVersion=${str(o, 'apiVersion')}, kind=${kindOf(o)}, namespace=${str(o, 'metadata', 'namespace')}, name=${nameOf(o)})`;

type Visitor = (origin: string, current: { value: string }, id?: string) => void;

/** A string at `path` handed to the visitor and written back (as the SDK's NestedString / SetNestedString). */
function visitField(o: YAMLMap, path: string[], origin: string, visitor: Visitor, id?: string): void {
  const current = { value: str(o, ...path) };
  visitor(origin, current, id);
  setString(o, path, current.value); // the catalog writes the field back in every case
}

function visitAll(objects: YAMLMap[], visitor: Visitor): void {
  for (const o of objects.filter((x) => !isNamespaceScoped(x))) {
    if (isGVK(o, '', 'v1', 'Namespace') && groupOf(o) === '') {
      visitField(o, ['metadata', 'name'], originOf(o).name, visitor, shortString(o));
    } else if (isGVK(o, 'apiextensions.k8s.io', 'v1', 'CustomResourceDefinition')) {
      visitField(o, ['spec', 'conversion', 'webhook', 'clientConfig', 'service', 'namespace'], '', visitor);
    } else if (isGVK(o, 'apiregistration.k8s.io', 'v1', 'APIService')) {
      visitField(o, ['spec', 'service', 'namespace'], '', visitor);
    } else if (kindOf(o) === 'ClusterRoleBinding' || kindOf(o) === 'RoleBinding') {
      const subjects = getField(o, 'subjects');
      for (const s of isSeq(subjects) ? subjects.items : []) {
        if (isMap(s) && getField(s, 'namespace') !== undefined) visitField(s, ['namespace'], '', visitor);
      }
    }
  }
  for (const o of objects.filter((x) => isNamespaceScoped(x))) {
    visitField(o, ['metadata', 'namespace'], originOf(o).namespace, visitor, shortString(o));
  }
}

const goList = (values: Iterable<string>) => `[${[...new Set(values)].sort().join(' ')}]`;

export function setNamespace(list: ResourceList): FunctionOutput {
  const config = readConfig(list.functionConfig);
  if (typeof config === 'string') {
    const o = list.functionConfig;
    const ref = {
      ...(str(o, 'apiVersion') ? { apiVersion: str(o, 'apiVersion') } : {}),
      ...(kindOf(o) ? { kind: kindOf(o) } : {}),
      ...(nameOf(o) ? { name: nameOf(o) } : {}),
      ...(str(o, 'metadata', 'namespace') ? { namespace: str(o, 'metadata', 'namespace') } : {}),
    };
    const path =
      annotationsOf(o)['internal.config.kubernetes.io/path'] ?? annotationsOf(o)['config.kubernetes.io/path'];
    const index =
      annotationsOf(o)['internal.config.kubernetes.io/index'] ?? annotationsOf(o)['config.kubernetes.io/index'];
    const result: ResultItem = {
      ...error(config),
      resourceRef: ref,
      file: { ...(path ? { path } : {}), index: index !== undefined && /^\d+$/.test(index) ? Number(index) : -1 },
    };
    return finish(list.items, [result], true);
  }
  const objects = list.items.filter((o) => !isLocalConfig(o));
  const dependsOnKeys = new Set<string>();
  for (const o of objects) {
    const id = idOf(o);
    if (id.namespace !== UNKNOWN_NS) dependsOnKeys.add(`${id.group}/namespaces/${id.namespace}/${id.kind}/${id.name}`);
  }
  const origins = new Set<string>();
  try {
    for (const o of objects) {
      if (!annotationOf(o, UPSTREAM_IDENTIFIER) || !isNamespaceScoped(o)) continue;
      const origin = originOf(o);
      if (origin.namespace === UNKNOWN_NS) {
        return finish(
          list.items,
          [
            error(
              `${shortString(o)} is namespace-scoped, but has cluster-scoped or unknown scoepd origin ${origin.group}|${origin.kind}|${origin.namespace}|${origin.name}`,
            ),
          ],
          true,
        );
      }
      origins.add(origin.namespace);
    }
  } catch (e) {
    return finish(list.items, [error((e as Error).message)], true);
  }
  const matchers = config.matcher ? [config.matcher] : [];
  if (!matchers.length && origins.size > 1) {
    return finish(
      list.items,
      [
        error(
          `unable to use origin \`namespace\` to match. expect a single upstream namespace, found ${goList(origins)}. please switch to use \`namespaceMatcher\`to specify the namespace value you want to change`,
        ),
      ],
      true,
    );
  }
  const results: ResultItem[] = [];
  const newNs = config.namespace;
  let count = 0;
  const oldNss = new Set<string>();
  visitAll(objects, (origin, current, id) => {
    if (origin === UNKNOWN_NS) return;
    if (current.value === '') current.value = 'default';
    if (current.value === newNs) return;
    let change = matchers.length === 0;
    for (const m of matchers) {
      if (m === origin) results.push(info(`${id === undefined ? '[]' : `[${id}]`} has matching origin ${origin}`));
      if (m === current.value || m === origin) change = true;
    }
    if (change) {
      oldNss.add(current.value);
      current.value = newNs;
      count++;
    }
  });
  results.push(
    info(
      count === 0
        ? `all matching namespaces are already ${JSON.stringify(newNs)}. no value changed`
        : `namespace ${goList(oldNss)} updated to ${JSON.stringify(newNs)}, ${count} value(s) changed`,
    ),
  );
  let annotationCount = 0;
  const oldAnnotationNss = new Set<string>();
  for (const o of objects) {
    const value = annotationOf(o, DEPENDS_ON);
    if (!value || !NS_SCOPED_DEPENDS_ON.test(value) || !dependsOnKeys.has(value)) continue;
    const segments = value.split('/');
    if (segments[2] === newNs) continue;
    if (matchers.length && !matchers.includes(segments[2]!)) continue;
    oldAnnotationNss.add(segments[2]!);
    segments[2] = newNs;
    annotationCount++;
    setAnnotation(o, DEPENDS_ON, segments.join('/'));
  }
  results.push(
    info(
      annotationCount === 0
        ? 'all `depends-on` annotations are up-to-date. no `namespace` changed'
        : `\`depends-on\` annotation namespace ${goList(oldAnnotationNss)} updated to ${JSON.stringify(newNs)}, ${annotationCount} value(s) changed`,
    ),
  );
  return finish(list.items, results, true);
}
