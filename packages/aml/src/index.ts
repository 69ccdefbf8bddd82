export { AmlLimits, type AmlLimit } from './limits.js';
export { AmlInvalidError, AmlNotTextError, AmlTooLargeError, DoctypeForbiddenError, DuplicateIdError, isAmlError, type AmlError } from './errors.js';
export { decodeEntities, isTextNode, parseXml, serializeXml, TEXT_NODE, type XmlElement } from './xml.js';
export { assembleAmlSplit, chunkHash, creationDigest, DEFAULT_CHUNK_BYTES, splitAmlDocument, type AmlChunk, type AmlSplit, type SplitOptions } from './split.js';
export { nodeIdOf, readAmlDocument, readAmlFragment, readSpecification, SCHEMA_VERSIONS, type AmlDocument, type AmlFragment, type FragmentKind, type SchemaVersion } from './caex.js';
export { readElementTree, readSpecificationTree, serializeAmlNode, toAmlNode, type AmlNode } from './tree.js';
export { EXPECTED_MAX_NAMES, EXPECTED_MIN_NAMES, expectedBounds, type SensorAttribute, type ValueElement } from './sensor-range.js';
