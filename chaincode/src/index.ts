import { AccessControlContract } from './contracts/access-control-contract';
import { DiagnosticsContract } from './contracts/diagnostics-contract';
import { SpecificationContract } from './contracts/specification-contract';

export { AccessControlContract, DiagnosticsContract, SpecificationContract };
export { ChaincodeError, ErrorCodes, type ErrorCode } from './errors';
export { Events, type EventName } from './events';
export { Limits } from './limits';
export { PROGRAM_ROLE_CLASS } from './aml/programs';
export { Levels, Permissions, Roles, ROLE_PERMISSIONS } from './access/roles';
export { canonicalizeDocument } from './aml/caex';

/** Contract names as clients address them: `${name}:${function}`; 'spec' is the default. */
export const ContractNames = { spec: 'spec', acl: 'acl', diag: 'diag' } as const;

// fabric-contract-api reads this export; the first contract is the default one.
export const contracts = [SpecificationContract, AccessControlContract, DiagnosticsContract];
