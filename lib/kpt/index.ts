// lib/kpt: kpt packages in memory (files, Kptfile, resources, identity, package context).
export * from './package.ts';
export * from './kptfile.ts';
export * from './resources.ts';
export * from './identity.ts';
export * from './context.ts';
export { parseDocuments, renderDocument, joinDocuments, YamlSyntaxError, type SourceDocument } from './yaml.ts';
