export { AmlLimits, type AmlLimit } from './limits.js';
export { AmlInvalidError, AmlNotTextError, AmlTooLargeError, DoctypeForbiddenError, DuplicateIdError, isAmlError, type AmlError } from './errors.js';
export { decodeEntities, parseXml, type XmlElement } from './xml.js';
export { nodeIdOf, readAmlDocument, readAmlFragment, readSpecification, SCHEMA_VERSIONS, type AmlDocument, type AmlFragment, type FragmentKind, type SchemaVersion } from './caex.js';
export { readElementTree, readSpecificationTree, toAmlNode, type AmlNode } from './tree.js';
