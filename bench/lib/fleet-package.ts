// The blueprint package of the fleet benchmark and the edits made to it: 20 resources (6 Deployments,
// 6 Services, 7 ConfigMaps, one ServiceMonitor custom resource) with comments, the upstream change
// published as v2 (new image tag, new port, removed annotation) and each downstream's own
// customizations (a label, replicas, an added container env var, a changed ConfigMap value), made
// as a person editing the files would make them: small textual edits that keep everything else.
export const PACKAGE = 'app';

const APPS = ['api', 'web', 'worker', 'cache', 'gateway', 'scheduler'];

export interface BlueprintVersion {
  /** Image tag of every workload. */
  tag: string;
  /** The api Deployment and Service also expose the metrics port. */
  metricsPort: boolean;
  /** The api Deployment still carries the legacy-probe annotation. */
  legacyAnnotation: boolean;
}

export const V1: BlueprintVersion = { tag: '1.4.2', metricsPort: false, legacyAnnotation: true };
export const V2: BlueprintVersion = { tag: '1.5.0', metricsPort: true, legacyAnnotation: false };

function deployment(app: string, i: number, v: BlueprintVersion): string {
  const api = app === 'api';
  return `# The ${app} workload of the shop blueprint.
# Sites scale it with spec.replicas; everything else follows the blueprint.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${app}
  labels:
    app.kubernetes.io/name: ${app}
    app.kubernetes.io/part-of: shop
  annotations:
    example.com/owner: platform-team${api && v.legacyAnnotation ? '\n    example.com/legacy-probe: "true"' : ''}
spec:
  replicas: 2 # scaled per site
  selector:
    matchLabels:
      app.kubernetes.io/name: ${app}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ${app}
    spec:
      serviceAccountName: shop
      containers:
        - name: ${app}
          image: registry.example.com/shop/${app}:${v.tag} # bumped by the release pipeline
          args: ["--listen", ":${8080 + i}"]
          ports:
            - name: http
              containerPort: ${8080 + i}
              protocol: TCP${api && v.metricsPort ? '\n            - name: metrics\n              containerPort: 9090\n              protocol: TCP' : ''}
          env:
            - name: LOG_FORMAT
              value: json
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: "1", memory: 512Mi}
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
`;
}

function service(app: string, i: number, v: BlueprintVersion): string {
  return `# Cluster-internal endpoint of ${app}.
apiVersion: v1
kind: Service
metadata:
  name: ${app}
  labels:
    app.kubernetes.io/name: ${app}
spec:
  selector:
    app.kubernetes.io/name: ${app}
  ports:
    - name: http
      port: 80
      targetPort: ${8080 + i}
      protocol: TCP${app === 'api' && v.metricsPort ? '\n    - name: metrics\n      port: 9090\n      targetPort: 9090\n      protocol: TCP' : ''}
`;
}

function configMap(i: number): string {
  const name = ['settings', 'features', 'limits', 'endpoints', 'cron', 'mail', 'search'][i]!;
  return `# ${name} of the shop; sites override single keys.
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-${name}
data:
  LOG_LEVEL: info # sites may raise or lower it
  REGION: global
  ${name.toUpperCase()}_ENABLED: "true"
  ${name.toUpperCase()}_TIMEOUT: 30s
`;
}

const SERVICE_MONITOR = `# Prometheus scrapes every shop workload.
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: shop
  labels:
    release: prometheus
spec:
  selector:
    matchLabels:
      app.kubernetes.io/part-of: shop
  endpoints:
    - port: http
      interval: 30s
`;

const KPTFILE = `apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: ${PACKAGE}
  annotations:
    config.kubernetes.io/local-config: "true"
info:
  description: The shop application blueprint (20 resources)
`;

/** What the render pipeline of the blueprint (`pipeline: true`) sets. */
export const RENDER_NAMESPACE = 'shop';
export const RENDER_LABEL = { key: 'fleet.example.com/rendered', value: 'true' } as const;
/** The annotation apply-replacements copies the settings ConfigMap's LOG_LEVEL into (api Deployment). */
export const RENDER_ANNOTATION = 'log-level';
export const REPLACEMENTS_FILE = 'replacements.yaml';

/** The three pipeline functions, as Kptfile `mutators` entries (catalog images, run as built-ins). */
export const PIPELINE_FUNCTIONS: Record<'set-namespace' | 'set-labels' | 'apply-replacements', string> = {
  'set-namespace': `    - image: gcr.io/kpt-fn/set-namespace:v0.4.1
      configMap:
        namespace: ${RENDER_NAMESPACE}
`,
  'set-labels': `    - image: gcr.io/kpt-fn/set-labels:v0.2.0
      configMap:
        ${RENDER_LABEL.key}: "${RENDER_LABEL.value}"
`,
  'apply-replacements': `    - image: gcr.io/kpt-fn/apply-replacements:v0.1.1
      configPath: ${REPLACEMENTS_FILE}
`,
};
export type PipelineFunction = keyof typeof PIPELINE_FUNCTIONS;
export const ALL_FUNCTIONS = Object.keys(PIPELINE_FUNCTIONS) as PipelineFunction[];

/** The blueprint Kptfile with a pipeline of these functions (none: no `pipeline:` at all). */
export function kptfileWith(functions: readonly PipelineFunction[]): string {
  if (!functions.length) return KPTFILE;
  return `${KPTFILE}pipeline:\n  mutators:\n${functions.map((f) => PIPELINE_FUNCTIONS[f]).join('')}`;
}

/** The apply-replacements function config: the site's LOG_LEVEL (settings ConfigMap) onto the api Deployment. */
const REPLACEMENTS = `# Function config of apply-replacements (not applied to a cluster).
apiVersion: fn.kpt.dev/v1alpha1
kind: ApplyReplacements
metadata:
  name: log-level
  annotations:
    config.kubernetes.io/local-config: "true"
replacements:
  - source:
      kind: ConfigMap
      name: shop-settings
      fieldPath: data.LOG_LEVEL
    targets:
      - select:
          kind: Deployment
          name: api
        fieldPaths:
          - metadata.annotations.${RENDER_ANNOTATION}
        options:
          create: true
`;

/**
 * The blueprint package at a version: Kptfile plus 20 resources, one per file. With `pipeline`,
 * the Kptfile declares set-namespace, set-labels and apply-replacements (config in replacements.yaml).
 */
export function blueprintFiles(v: BlueprintVersion, pipeline = false): Map<string, Buffer> {
  const files = new Map<string, Buffer>([['Kptfile', Buffer.from(pipeline ? kptfileWith(ALL_FUNCTIONS) : KPTFILE)]]);
  if (pipeline) files.set(REPLACEMENTS_FILE, Buffer.from(REPLACEMENTS));
  APPS.forEach((app, i) => {
    files.set(`workloads/${app}-deployment.yaml`, Buffer.from(deployment(app, i, v)));
    files.set(`workloads/${app}-service.yaml`, Buffer.from(service(app, i, v)));
  });
  for (let i = 0; i < 7; i++) files.set(`config/configmap-${i}.yaml`, Buffer.from(configMap(i)));
  files.set('monitoring/servicemonitor.yaml', Buffer.from(SERVICE_MONITOR));
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** What one downstream customizes (derived from its index, so the checks can recompute it). */
export interface Customization {
  site: string;
  replicas: number;
  logLevel: string;
}

export function customizationOf(name: string, index: number): Customization {
  return { site: name, replicas: 3 + (index % 7), logLevel: ['debug', 'warn', 'error'][index % 3]! };
}

export const API_DEPLOYMENT = 'workloads/api-deployment.yaml';
export const SETTINGS_CONFIGMAP = 'config/configmap-0.yaml';

function replaceOnce(text: string, path: string, from: string | RegExp, to: string): string {
  const next = text.replace(from, to);
  if (next === text) throw new Error(`customization of ${path}: ${String(from)} not found`);
  return next;
}

/**
 * The downstream's own edits on its current package: label `site`, replicas, an env var `SITE` in
 * the api container, LOG_LEVEL in the settings ConfigMap. Textual, so comments and layout stay.
 */
export function customize(files: ReadonlyMap<string, Buffer>, c: Customization): Map<string, Buffer> {
  const out = new Map(files);
  let api = files.get(API_DEPLOYMENT)!.toString('utf8');
  api = replaceOnce(api, API_DEPLOYMENT, /(\n {2}labels:\n)/, `$1    site: ${c.site}\n`);
  api = replaceOnce(api, API_DEPLOYMENT, /replicas: 2 /, `replicas: ${c.replicas} `);
  api = replaceOnce(
    api,
    API_DEPLOYMENT,
    /(\n( +)- name: LOG_FORMAT\n +value: json\n)/,
    `$1$2- name: SITE\n$2  value: ${c.site}\n`,
  );
  out.set(API_DEPLOYMENT, Buffer.from(api));
  const settings = files.get(SETTINGS_CONFIGMAP)!.toString('utf8');
  out.set(
    SETTINGS_CONFIGMAP,
    Buffer.from(replaceOnce(settings, SETTINGS_CONFIGMAP, /LOG_LEVEL: info/, `LOG_LEVEL: ${c.logLevel}`)),
  );
  return out;
}
