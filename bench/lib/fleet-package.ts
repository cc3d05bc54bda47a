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

/** The blueprint package at a version: Kptfile plus 20 resources, one per file. */
export function blueprintFiles(v: BlueprintVersion): Map<string, Buffer> {
  const files = new Map<string, Buffer>([['Kptfile', Buffer.from(KPTFILE)]]);
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
