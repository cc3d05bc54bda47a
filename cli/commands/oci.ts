// `pvctl oci push DIR REF` and `pvctl oci pull REF DIR`: kpt packages as OCI artifacts (the format
// of lib/oci/package.ts), for blueprint authors and tests. Credentials come from the environment
// (PVCTL_OCI_USERNAME + PVCTL_OCI_PASSWORD), never from the command line; `--ca-file` adds a CA.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { KPTFILE, readPackageDirWithModes, writePackageDir } from '../../lib/kpt/package.ts';
import { OciClient, type OciClientOptions } from '../../lib/oci/client.ts';
import { pullPackage, pushPackage } from '../../lib/oci/package.ts';
import {
  formatReference,
  InvalidReferenceError,
  parseReference,
  type ImageReference,
} from '../../lib/oci/reference.ts';
import { UsageError } from '../output.ts';

export interface OciIo {
  out(line: string): void;
  env: NodeJS.ProcessEnv;
}

interface OciOptions {
  caFile?: string;
  plainHttp?: boolean;
}

function reference(text: string): ImageReference {
  try {
    return parseReference(text);
  } catch (error) {
    if (error instanceof InvalidReferenceError) throw new UsageError(error.message);
    throw error;
  }
}

/** The client for a command: credentials from the environment, the CA from --ca-file. */
export function clientFromOptions(options: OciOptions, env: NodeJS.ProcessEnv): OciClient {
  const username = env.PVCTL_OCI_USERNAME;
  const password = env.PVCTL_OCI_PASSWORD;
  if ((username === undefined) !== (password === undefined)) {
    throw new UsageError('set both PVCTL_OCI_USERNAME and PVCTL_OCI_PASSWORD, or neither');
  }
  const clientOptions: OciClientOptions = {};
  if (username !== undefined && password !== undefined) clientOptions.credentials = { username, password };
  if (options.caFile) {
    try {
      clientOptions.ca = readFileSync(options.caFile);
    } catch (error) {
      throw new UsageError(`--ca-file ${options.caFile}: ${(error as Error).message}`);
    }
  }
  if (options.plainHttp) clientOptions.plainHttp = true;
  return new OciClient(clientOptions);
}

function withOptions(command: Command): Command {
  return command
    .option('--ca-file <file>', 'trust this CA (PEM) for the registry, besides the system CAs')
    .option('--plain-http', 'speak http, not https (a local registry)');
}

export function registerOci(program: Command, io: OciIo = { out: (l) => console.log(l), env: process.env }): void {
  const oci = program
    .command('oci')
    .description('push and pull kpt packages as OCI artifacts (credentials: PVCTL_OCI_USERNAME, PVCTL_OCI_PASSWORD)');
  withOptions(
    oci
      .command('push <dir> <ref>')
      .description('push the package in DIR to REF (registry/repository:tag); prints the reference with its digest'),
  ).action(async (dir: string, text: string, options: OciOptions) => {
    const ref = reference(text);
    if (!ref.tag || ref.digest) throw new UsageError(`push needs a tag and no digest: ${text}`);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${dir} is not a directory`);
    if (!existsSync(`${dir}/${KPTFILE}`)) throw new UsageError(`${dir} has no ${KPTFILE}: not a kpt package`);
    const content = readPackageDirWithModes(dir);
    const digest = await pushPackage(clientFromOptions(options, io.env), ref, content);
    io.out(`${formatReference(ref)}@${digest}`);
  });
  withOptions(
    oci
      .command('pull <ref> <dir>')
      .description('pull the package at REF (a tag or @sha256:digest) into DIR (new or empty); prints its digest'),
  ).action(async (text: string, dir: string, options: OciOptions) => {
    const ref = reference(text);
    if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
      throw new UsageError(`${dir} exists and is not an empty directory`);
    }
    const pulled = await pullPackage(clientFromOptions(options, io.env), ref);
    writePackageDir(dir, pulled.files, pulled.modes);
    io.out(`${formatReference({ ...ref, digest: pulled.digest })} → ${dir} (${pulled.files.size} files)`);
  });
}
