// The HTTP API and dashboard of routilux, imported as "routilux/server".

export { createServer } from "./app.js";
export type { RoutiluxRequestListener } from "./app.js";
export { startServer } from "./start.js";
export type { StartServerOptions, RunningServer } from "./start.js";
export { loadFlowsDir } from "./flows-dir.js";
export type { LoadedFlows } from "./flows-dir.js";
export type { ServerOptions } from "./options.js";
export { HttpError } from "./errors.js";
export type { ErrorBody } from "./errors.js";
export type { FlowEventJson } from "./event-hub.js";
export type { FlowGraphJson, RoutineJson, SlotJson } from "./flow-graph.js";
export { buildDashboard } from "./assets.js";
