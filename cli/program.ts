// The pvctl program: its commands and how errors end it. Subcommands are loaded lazily: only the one
// a command line names is imported (with its dependencies: the Kubernetes client, git, the render
// runtimes); the others are stubs with their description, enough for `--help`. So `pvctl version`
// and `pvctl --help` load commander and nothing else.
import { Command, type CommanderError } from 'commander';
import { FAILED_EXIT, INTERNAL_ERROR_EXIT, UNAVAILABLE_EXIT, USAGE_EXIT } from './exit-codes.ts';
import { packageVersion } from '../lib/version.ts';

export { INTERNAL_ERROR_EXIT };

type Register = (program: Command) => void;

export interface LazyCommand {
  name: string;
  /** As the real command says it (a unit test holds them equal). */
  description: string;
  load(): Promise<Register>;
}

/** Every subcommand but `version`, in the order `--help` lists them. */
export const COMMANDS: readonly LazyCommand[] = [
  {
    name: 'validate',
    description: 'check manifests against the API schema and the semantic rules',
    load: async () => (await import('./commands/validate.ts')).registerValidate,
  },
  {
    name: 'merge',
    description: 'three-way merge of kpt package directories (kpt resource-merge semantics) with a conflict report',
    load: async () => (await import('./commands/merge.ts')).registerMerge,
  },
  {
    name: 'reconcile',
    description:
      'reconcile PackageVariants and PackageVariantSets read from YAML once, with no cluster, and print their status',
    load: async () => (await import('./commands/reconcile.ts')).registerReconcile,
  },
  {
    name: 'render',
    description:
      'run the Kptfile pipelines of a package (as kpt fn render): built-in functions, allowed executables, optional container runtime',
    load: async () => (await import('./commands/render.ts')).registerRender,
  },
  {
    name: 'rpkg',
    description: 'package revisions on a git repository (Porch layout)',
    load: async () => (await import('./commands/rpkg.ts')).registerRpkg,
  },
  {
    name: 'run',
    description: 'run the controller against a cluster',
    load: async () => (await import('./commands/run.ts')).registerRun,
  },
  {
    name: 'tree',
    description:
      'upstream → downstream chains across levels (blueprint → regional → site), from manifests (-f) or the cluster; --dependents PACKAGE lists what a change of PACKAGE reaches',
    load: async () => (await import('./commands/tree.ts')).registerTree,
  },
  {
    name: 'history',
    description:
      'the revisions of a downstream package: the upstream revision each came from, who published it, its variant',
    load: async () => (await import('./commands/history.ts')).registerHistory,
  },
  {
    name: 'carried',
    description:
      "a downstream package's own customizations against the upstream revision it is based on (fields, or --diff); with several packages or --all, those they carry alike",
    load: async () => (await import('./commands/history.ts')).registerCarried,
  },
  {
    name: 'get',
    description: 'list PackageVariants, PackageVariantSets or Repositories in the cluster (like kubectl get)',
    load: async () => (await import('./commands/cluster.ts')).registerGet,
  },
  {
    name: 'describe',
    description: 'show a PackageVariant or PackageVariantSet: spec, conditions, targets, conflicts and recent events',
    load: async () => (await import('./commands/cluster.ts')).registerDescribe,
  },
  {
    name: 'events',
    description: 'list the events of PackageVariants and PackageVariantSets (like kubectl events), oldest first',
    load: async () => (await import('./commands/cluster.ts')).registerEvents,
  },
  {
    name: 'request-reconcile',
    description:
      'ask the controller in the cluster to reconcile a PackageVariant or PackageVariantSet now (git fetched again), and wait for the result; not `pvctl reconcile -f`',
    load: async () => (await import('./commands/control.ts')).registerRequestReconcile,
  },
  {
    name: 'suspend',
    description:
      'suspend a PackageVariant or PackageVariantSet (spec.suspend: true): the controller observes it and writes nothing to git',
    load: async () => (await import('./commands/control.ts')).registerSuspend,
  },
  {
    name: 'resume',
    description: 'resume a suspended PackageVariant or PackageVariantSet, and request a reconcile now',
    load: async () => (await import('./commands/control.ts')).registerResume,
  },
  {
    name: 'oci',
    description: 'push and pull kpt packages as OCI artifacts (credentials: PVCTL_OCI_USERNAME, PVCTL_OCI_PASSWORD)',
    load: async () => (await import('./commands/oci.ts')).registerOci,
  },
  {
    name: 'completion',
    description: 'print a shell completion script: bash, zsh or fish',
    load: async () => (await import('./commands/completion.ts')).registerCompletion,
  },
];

/** The subcommand a command line runs (or asks help for): its first word that is not a flag. */
export function commandOf(args: readonly string[]): string | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/**
 * The program for `args` (without node and the script): the subcommand it names is loaded, the
 * others are stubs; `all` loads every one (completion scripts, tests).
 */
export async function buildProgram(args: readonly string[] = process.argv.slice(2), all = false): Promise<Command> {
  const version = packageVersion();
  const program = new Command('pvctl')
    .description('Keeps downstream variants of kpt packages in step with their upstream blueprints.')
    .version(version, '--version', 'print the version')
    .showHelpAfterError()
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 failed or not Ready, 2/3 conflicts, 64 usage error, 69 no cluster, 70 bug.',
    );
  program
    .command('version')
    .description('print the version')
    .action(() => console.log(`pvctl ${version} (node ${process.version})`));
  const wanted = all ? undefined : commandOf(args);
  for (const command of COMMANDS) {
    if (all || command.name === wanted) (await command.load())(program);
    else program.command(command.name).description(command.description);
  }
  return program;
}

/**
 * What a commander error exits with: 0 for --help and --version, 64 for a wrong command line
 * (also a missing command: `pvctl` or `pvctl rpkg` alone print the help and exit 64).
 */
export function commanderExit(e: CommanderError): number {
  return e.exitCode === 0 ? 0 : USAGE_EXIT;
}

/** Errors of the program itself, not of its input: a bug, with its own exit code (EX_SOFTWARE). */
const BUGS = ['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError'];

/** Prints an error that reached the top; returns the exit code: 64 usage, 69 no cluster, 70 bug, else 1. */
export function reportError(e: unknown, err: (line: string) => void, debug = false): number {
  const error = e instanceof Error ? e : new Error(String(e));
  if (!BUGS.includes(error.name)) {
    err(`pvctl: ${error.message}`);
    if (error.name === 'UsageError') return USAGE_EXIT;
    if (error.name === 'UnavailableError') return UNAVAILABLE_EXIT;
    return FAILED_EXIT;
  }
  err(`pvctl: internal error: ${error.message} (a bug: please report it; PVCTL_DEBUG=1 prints where)`);
  if (debug && error.stack) err(error.stack);
  return INTERNAL_ERROR_EXIT;
}
