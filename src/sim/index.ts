/**
 * The Healwatch cluster simulator: a Kubernetes API server on loopback, backed by a simulated cluster
 * whose controllers, scheduler, kubelets and control plane behave like the real ones, with faults to
 * inject. Product code other than the `sim` and `demo` commands must not import it.
 */
export {
  startSimulator,
  kubeconfigFor,
  versionInfo,
  type Simulator,
  type SimulatorOptions,
} from './simulator.js';
export { FaultError, type ActiveFault, type FaultRequest } from './faults/engine.js';
export { FAULTS, type FaultDefinition } from './faults/catalog.js';
export { BUILTIN_SCENARIOS } from './scenario/builtin.js';
export { loadScenario, parseScenario, ScenarioError, type Scenario } from './scenario/file.js';
export type { RequestRecord } from './api/server.js';
