export { aas, type AssetAdministrationShell, type Environment, type JsonValue, type Submodel, type SubmodelElement } from './core.js';
export { AasCursorInvalidError, AasIdentifierInvalidError, AasNotFoundError, AasVerificationError, AasxInvalidError, AasxTooLargeError, IdShortPathInvalidError } from './errors.js';
export { createIdShortScope, isIdShort, MAX_ID_SHORT, sanitizeIdShort, type IdShortScope } from './id-short.js';
export { attachmentsSubmodelId, decodeIdentifier, encodeIdentifier, globalAssetId, shellId, submodelId, twinOfShell, twinOfSubmodel } from './identifiers.js';
export { DOCUMENT_CONTENT_TYPE, LINKED_SEGMENT_SEMANTIC_ID, mapTwin, PROGRAM_ROLE, xsdTypeOf, type AasTwin, type TwinDocument, type TwinFeed, type TwinSource } from './mapping.js';
export { assertValid, environmentFromJson, findElement, parseIdShortPath, toJson, valueOnly, verificationErrors } from './serialize.js';
export { AASX_CONTENT_TYPE, buildAasx, readAasx, REL_ORIGIN, REL_SPEC, REL_SUPPL, type AasxContent, type AasxFile } from './aasx.js';
