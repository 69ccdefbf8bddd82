import { createRequire } from 'node:module';
import type * as AasCore from '@aas-core-works/aas-core3.0-typescript';

/*
 * The maintained AAS V3.0 model, JSON (de)serialization and verification
 * (`@aas-core-works/aas-core3.0-typescript`). Its ESM build imports files without extensions,
 * which Node refuses; its CommonJS build is the same code and loads everywhere, so it is
 * required. Types come from the package's declarations.
 */
const require = createRequire(import.meta.url);
export const aas = require('@aas-core-works/aas-core3.0-typescript') as typeof AasCore;

export type Environment = AasCore.types.Environment;
export type AssetAdministrationShell = AasCore.types.AssetAdministrationShell;
export type Submodel = AasCore.types.Submodel;
export type SubmodelElement = AasCore.types.ISubmodelElement;
export type Reference = AasCore.types.Reference;
export type JsonValue = AasCore.jsonization.JsonValue;
