// `pvctl run`: the controller against a cluster (kubeconfig or in-cluster config), with JSON (or console) logs,
// Prometheus metrics, health probes, the git push webhook, Lease leader election and graceful
// shutdown on SIGTERM/SIGINT.
import { THREADS_OPTION, threadsFrom } from '../threads-option.ts';
import { parseDuration } from '../duration.ts';
import { addRenderOptions, renderOptionsFrom, type RenderFlagOptions } from '../render-options.ts';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig, makeClients } from '../../lib/kube/client.ts';
import { LeaderElector, validateTiming } from '../../lib/kube/leader-election.ts';
import { Manager, type ListenAddress } from '../../controllers/manager.ts';
import { sweepStaleKeyDirs } from '../../lib/git/credentials.ts';
import { checkConnection, kubeConfigSourceFrom } from '../kube-connection.ts';
import { createLogger, logFormatFrom } from '../logging.ts';
import { UsageError } from '../output.ts';
import { RUN_LIMIT_OPTIONS, runLimitsFrom, type RunLimitOptions } from '../run-limits.ts';
import { applyGitLimits, MAX_PUSH_REFS_OPTION, type GitLimitOptions } from '../git-limits.ts';

export interface RunOptions extends GitLimitOptions, RunLimitOptions, RenderFlagOptions {
  kubeconfig?: string;
  namespace?: string;
  concurrency: string;
  threads?: string;
  setConcurrency: string;
  pollInterval: string;
  cacheDir?: string;
  healthProbeBindAddress: string;
  metricsBindAddress: string;
  webhookBindAddress: string;
  webhookSecretFile?: string;
  logLevel: string;
  logFormat?: string;
  leaderElect?: boolean;
  leaderElectionId?: string;
  leaderElectionNamespace?: string;
  leaderElectionLeaseDuration?: string;
  leaderElectionRenewDeadline?: string;
  leaderElectionRetryPeriod?: string;
  gracefulShutdownTimeout?: string;
}

/** Defaults of the leader election and shutdown flags (controller-runtime's). */
export const RUN_DEFAULTS = {
  leaderElectionId: 'packagevariant-controller',
  leaderElectionLeaseDuration: '15s',
  leaderElectionRenewDeadline: '10s',
  leaderElectionRetryPeriod: '2s',
  gracefulShutdownTimeout: '30s',
} as const;

/** Where Kubernetes mounts the pod's namespace. */
export const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface LeaderElectionSettings {
  namespace: string;
  name: string;
  timing: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
}

/** The `--leader-elect*` flags; undefined when leader election is off. */
export function leaderElectionFrom(
  options: RunOptions,
  namespaceFile = IN_CLUSTER_NAMESPACE_FILE,
): LeaderElectionSettings | undefined {
  if (!options.leaderElect) return undefined;
  const namespace =
    options.leaderElectionNamespace ||
    (existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined);
  if (!namespace) {
    throw new UsageError('--leader-election-namespace is required with --leader-elect outside a cluster');
  }
  const timing = {
    leaseDurationMs: parseDuration(options.leaderElectionLeaseDuration ?? RUN_DEFAULTS.leaderElectionLeaseDuration),
    renewDeadlineMs: parseDuration(options.leaderElectionRenewDeadline ?? RUN_DEFAULTS.leaderElectionRenewDeadline),
    retryPeriodMs: parseDuration(options.leaderElectionRetryPeriod ?? RUN_DEFAULTS.leaderElectionRetryPeriod),
  };
  try {
    validateTiming(timing);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { namespace, name: options.leaderElectionId ?? RUN_DEFAULTS.leaderElectionId, timing };
}

function makeElector(kubeConfig: KubeConfig, settings: LeaderElectionSettings, logger: Logger): LeaderElector {
  return new LeaderElector({
    coordination: makeClients(kubeConfig).coordination,
    ...settings,
    identity: `${hostname()}_${randomUUID()}`,
    logger: logger.child({ component: 'leader-election' }),
  });
}

/** `90s`, `1m`, `1h30m`, `500ms` → milliseconds. */
export { parseDuration };

/** `:8081`, `0.0.0.0:8081`, `[::1]:8081`, `127.0.0.1:0`; empty or `0` disables. */
export function parseBindAddress(value: string, flag: string): ListenAddress | undefined {
  if (value === '' || value === '0') return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`${flag}: invalid address ${JSON.stringify(value)}`);
  const host = match[1] ?? match[2];
  return { port, ...(host ? { host } : {}) };
}

function positiveInteger(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, not ${value}`);
  return n;
}

export function managerOptionsFrom(options: RunOptions) {
  const concurrency = positiveInteger(options.concurrency, '--concurrency');
  const setConcurrency = positiveInteger(options.setConcurrency, '--set-concurrency');
  const threads = threadsFrom(options.threads);
  const webhookAddress = parseBindAddress(options.webhookBindAddress, '--webhook-bind-address');
  const secret =
    (options.webhookSecretFile
      ? readFileSync(options.webhookSecretFile, 'utf8')
      : process.env.PVC_WEBHOOK_SECRET
    )?.trim() || undefined;
  const probeAddress = parseBindAddress(options.healthProbeBindAddress, '--health-probe-bind-address');
  const metricsAddress = parseBindAddress(options.metricsBindAddress, '--metrics-bind-address');
  return {
    shutdownTimeoutMs: parseDuration(options.gracefulShutdownTimeout ?? RUN_DEFAULTS.gracefulShutdownTimeout),
    concurrency,
    setConcurrency,
    ...(threads !== undefined ? { threads } : {}),
    pollIntervalMs: parseDuration(options.pollInterval),
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(probeAddress ? { probeAddress } : {}),
    ...(metricsAddress ? { metricsAddress } : {}),
    ...(webhookAddress && secret ? { webhookAddress, webhookSecret: secret } : {}),
    ...runLimitsFrom(options),
  };
}

export async function runController(options: RunOptions): Promise<void> {
  const logger = createLogger({ level: options.logLevel, format: logFormatFrom(options.logFormat) });
  const stale = sweepStaleKeyDirs();
  if (stale.length) logger.info({ removed: stale.length }, 'removed SSH key directories of dead processes');
  const managerOptions = managerOptionsFrom(options);
  applyGitLimits(options);
  const election = leaderElectionFrom(options);
  const kubeConfig = loadKubeConfig(kubeConfigSourceFrom(options.kubeconfig));
  // One call before anything starts: an unreachable cluster is an error now, not a retry loop.
  await checkConnection(kubeConfig, options.namespace);
  if (!managerOptions.webhookSecret) {
    logger.info('no webhook secret (--webhook-secret-file or PVC_WEBHOOK_SECRET): webhook endpoint disabled');
  }
  const elector = election ? makeElector(kubeConfig, election, logger) : undefined;
  const manager = new Manager({
    kubeConfig,
    logger,
    ...managerOptions,
    render: renderOptionsFrom(options),
    ...(elector ? { elector } : {}),
    // As controller-runtime: a process that lost the lease exits at once, without a graceful stop.
    onLeadershipLost: () => {
      logger.error('leader election lost: exiting');
      process.exit(1);
    },
  });
  let signals = 0;
  const done = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      logger.info({ signal }, 'signal received');
      // Backstop: the drain is bounded by the timeout; event flush and lease release by 5 s each.
      setTimeout(() => {
        logger.error('graceful shutdown did not finish in time: exiting');
        process.exit(1);
      }, managerOptions.shutdownTimeoutMs + 15_000).unref();
      void manager.stop().then(resolve);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await manager.start();
  logger.info({ addresses: manager.addresses() }, 'listening');
  await done;
  // Anything still running past the bounded drain (a reconcile that ignored the timeout) must not
  // keep the process alive: git pushes are atomic, so cutting them off leaves no partial state.
  // Every process.exit here kills the git processes left and removes SSH key directories (lib/git).
  process.exit(0);
}

export function registerRun(program: Command): void {
  addRenderOptions(program.command('run'))
    .description('run the controller against a cluster')
    .option('--kubeconfig <path>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, then in-cluster)')
    .option('-n, --namespace <ns>', 'watch only this namespace (default: all namespaces)')
    .option('--concurrency <n>', 'PackageVariant reconciles at once', '8')
    .option('--set-concurrency <n>', 'PackageVariantSet reconciles at once', '2')
    .option(...THREADS_OPTION)
    .option('--poll-interval <duration>', 'git poll interval for upstream and downstream repositories', '1m')
    .option('--cache-dir <dir>', 'where bare git caches are kept (default ~/.cache/packagevariant-controller/git)')
    .option(...MAX_PUSH_REFS_OPTION)
    .option('--health-probe-bind-address <addr>', '/healthz and /readyz ("0" disables)', ':8081')
    .option('--metrics-bind-address <addr>', 'Prometheus /metrics ("0" disables)', ':8080')
    .option('--webhook-bind-address <addr>', 'git push webhook ("0" disables)', ':8082')
    .option('--webhook-secret-file <path>', 'shared secret of the webhook (default: env PVC_WEBHOOK_SECRET)')
    .option(...RUN_LIMIT_OPTIONS.webhookMaxBodyBytes)
    .option(...RUN_LIMIT_OPTIONS.webhookMaxConnections)
    .option(...RUN_LIMIT_OPTIONS.webhookRequestTimeout)
    .option(...RUN_LIMIT_OPTIONS.celCostLimit)
    .option(...RUN_LIMIT_OPTIONS.celTimeLimit)
    .option('--log-level <level>', 'trace, debug, info, warn or error', 'info')
    .option('--log-format <format>', 'json or console (default: console when stdout is a terminal, else json)')
    .option('--leader-elect', 'run the controllers only while holding a Lease (for more than one replica)', false)
    .option('--leader-election-id <name>', 'name of the Lease', RUN_DEFAULTS.leaderElectionId)
    .option(
      '--leader-election-namespace <ns>',
      'namespace of the Lease (default: the pod namespace when in a cluster; required otherwise)',
    )
    .option(
      '--leader-election-lease-duration <duration>',
      'how long a lease lasts without renewal',
      RUN_DEFAULTS.leaderElectionLeaseDuration,
    )
    .option(
      '--leader-election-renew-deadline <duration>',
      'how long the leader retries a renewal before it gives up',
      RUN_DEFAULTS.leaderElectionRenewDeadline,
    )
    .option(
      '--leader-election-retry-period <duration>',
      'interval between acquire and renew attempts',
      RUN_DEFAULTS.leaderElectionRetryPeriod,
    )
    .option(
      '--graceful-shutdown-timeout <duration>',
      'how long SIGTERM waits for in-flight reconciles and pushes',
      RUN_DEFAULTS.gracefulShutdownTimeout,
    )
    .action(async (options: RunOptions) => {
      await runController(options);
    });
}
