#!/usr/bin/env node
// pvctl: the command line of packagevariant-controller.
import { Command, CommanderError } from 'commander';
import { registerMerge } from './commands/merge.ts';
import { registerReconcile } from './commands/reconcile.ts';
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
    console.error(`pvctl: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}

if (import.meta.main) await main();
