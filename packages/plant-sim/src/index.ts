export { startBottlingPlantSimulator, BOTTLING_PLANT_SENSORS } from './simulator.js';
export type { BottlingPlantSimulator, SimulatorInit, SimulatorSecurity, SimulatedSensorSpec, ProgramInvocation } from './simulator.js';
