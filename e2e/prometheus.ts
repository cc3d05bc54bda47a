// A real Prometheus (Debian's `prometheus` package; scripts/system-deps.sh installs it) for tests:
// on loopback at a free port, with a temp config and TSDB directory, scraping the given targets
// every second and evaluating the given rule file; stop() kills it and removes its directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';

export interface ScrapeJob {
  job: string;
  /** `host:port` of each target. */
  targets: string[];
  /** Target labels, as a ServiceMonitor adds `namespace`, `pod`, `service`. */
  labels?: Record<string, string>;
}

export interface PrometheusOptions {
  jobs: ScrapeJob[];
  /** A plain rule file (`groups:`), evaluated every `interval`. */
  rules?: object;
  /** Scrape and rule evaluation interval (default `1s`). */
  interval?: string;
}

/** One series of an instant vector (`value`) or a range vector (`values`). */
export interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: Array<[number, string]>;
}

export interface Prometheus {
  readonly url: string;
  /** `/api/v1/query`: throws on an error answer (bad PromQL), with Prometheus's message. */
  query(expr: string, time?: number): Promise<Sample[]>;
  /** `/api/v1/<path>`'s `data`, throwing on an error answer. */
  api<T>(path: string, params?: Record<string, string | string[]>): Promise<T>;
  /** Prometheus's own log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** A TCP port nobody listens on now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'pv-prometheus-'));
  const interval = options.interval ?? '1s';
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    ...(options.rules ? { rule_files: [join(dir, 'rules.yaml')] } : {}),
    scrape_configs: options.jobs.map((job) => ({
      job_name: job.job,
      static_configs: [{ targets: job.targets, ...(job.labels ? { labels: job.labels } : {}) }],
    })),
  };
  writeFileSync(join(dir, 'prometheus.yml'), dump(config));
  if (options.rules) writeFileSync(join(dir, 'rules.yaml'), dump(options.rules, { lineWidth: -1 }));

  let output = '';
  let child: ChildProcess | undefined;
  let url = '';
  // The port is free when chosen; should another process take it first, pick another.
  for (let attempt = 0; attempt < 3 && !url; attempt++) {
    const port = await freePort();
    child = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<string>((resolve) => child!.once('exit', (code) => resolve(`exited with ${code}`)));
    const candidate = `http://127.0.0.1:${port}`;
    const ready = (async () => {
      for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
        try {
          if ((await fetch(`${candidate}/-/ready`)).ok) return 'ready';
        } catch {
          // not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return 'not ready after 20 s';
    })();
    const outcome = await Promise.race([ready, exited]);
    if (outcome === 'ready') url = candidate;
    else if (!/address already in use/.test(output)) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`prometheus ${outcome}:\n${output}`);
    }
  }
  if (!url || !child) throw new Error(`prometheus found no free port:\n${output}`);
  const server = child;

  const api = async <T>(path: string, params: Record<string, string | string[]> = {}): Promise<T> => {
    const body = new URLSearchParams();
    for (const [key, value] of Object.entries(params))
      for (const v of Array.isArray(value) ? value : [value]) body.append(key, v);
    // GET: the label, rules and alerts endpoints take no POST.
    const response = await fetch(`${url}/api/v1/${path}?${body}`);
    const text = await response.text();
    let answer: { status: string; data: T; error?: string };
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      throw new Error(`${path}: HTTP ${response.status}: ${text}`);
    }
    if (answer.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${answer.error}`);
    return answer.data;
  };
  return {
    url,
    api,
    async query(expr, time) {
      const data = await api<{ resultType: string; result: Sample[] | [number, string] }>('query', {
        query: expr,
        ...(time !== undefined ? { time: String(time) } : {}),
      });
      // A scalar (e.g. `time()`) is one sample without labels.
      return data.resultType === 'scalar'
        ? [{ metric: {}, value: data.result as [number, string] }]
        : (data.result as Sample[]);
    },
    log: () => output,
    async stop() {
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGTERM');
        const timer = setTimeout(() => server.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
