#!/usr/bin/env node
// pvctl: the command line of packagevariant-controller (the program is in program.ts).
import { CommanderError } from 'commander';
import { buildProgram, commanderExit, reportError } from './program.ts';

export { buildProgram, commanderExit, commandOf, COMMANDS, INTERNAL_ERROR_EXIT, reportError } from './program.ts';

async function main(): Promise<void> {
  try {
    await (await buildProgram()).parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = commanderExit(e);
      return;
    }
    process.exitCode = reportError(e, (line) => console.error(line), process.env.PVCTL_DEBUG === '1');
  }
}

if (import.meta.main) await main();
