#!/usr/bin/env node
// pvctl: the command line of packagevariant-controller.
import { Command, CommanderError } from 'commander';
import { registerMerge } from './commands/merge.ts';
import { registerReconcile } from './commands/reconcile.ts';
import { registerRender } from './commands/render.ts';
import { registerRpkg } from './commands/rpkg.ts';
import { registerRun } from './commands/run.ts';
import { registerValidate } from './commands/validate.ts';
import { packageVersion } from './version.ts';

const version = packageVersion();

export function buildProgram(): Command {
  const program = new Command('pvctl')
    .description('Keeps downstream variants of kpt packages in step with their upstream blueprints.')
    .version(version, '--version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('version')
    .description('print the version')
    .action(() => console.log(`pvctl ${version} (node ${process.version})`));
  registerValidate(program);
  registerMerge(program);
  registerReconcile(program);
  registerRender(program);
  registerRpkg(program);
  registerRun(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    process.exitCode = reportError(e, (line) => console.error(line), process.env.PVCTL_DEBUG === '1');
  }
}

/** Errors of the program itself, not of its input: a bug, with its own exit code (EX_SOFTWARE). */
const BUGS = ['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError'];
export const INTERNAL_ERROR_EXIT = 70;

/** Prints an error that reached the top; returns the exit code: 1, or 70 for a bug. */
export function reportError(e: unknown, err: (line: string) => void, debug = false): number {
  const error = e instanceof Error ? e : new Error(String(e));
  if (!BUGS.includes(error.name)) {
    err(`pvctl: ${error.message}`);
    return 1;
  }
  err(`pvctl: internal error: ${error.message} (a bug: please report it; PVCTL_DEBUG=1 prints where)`);
  if (debug && error.stack) err(error.stack);
  return INTERNAL_ERROR_EXIT;
}

if (import.meta.main) await main();
