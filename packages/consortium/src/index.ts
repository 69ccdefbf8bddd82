export { startConsortium, describeEndpoints, PLANT_OPERATOR } from './launcher.js';
export type { Consortium, ConsortiumInit, OrgRuntime, FabricUser } from './launcher.js';
export { runScenario } from './scenario.js';
export type { ScenarioFacts, ScenarioOptions, ScenarioReport, StepResult } from './scenario.js';
export { PARTIES, SERVICES, fabricIdentityId, orgPorts, plantPorts } from './layout.js';
export type { Party, ServiceName } from './layout.js';
export { request, waitFor } from './http.js';
export { ServiceStartError, StepFailedError, WaitTimeoutError } from './errors.js';
