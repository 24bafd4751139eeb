// The public API of routilux. Everything a user imports comes from here; nothing else is public.

// Definition: routines, slots, events, connections
export { Routine } from "./core/routine.js";
export type { SlotOptions, AnyRoutine } from "./core/routine.js";
export { Slot, Event } from "./core/slot.js";
export type { SlotHandler, MergeStrategy } from "./core/slot.js";
export type {
  RoutineSpec, AnyRoutineSpec, Payload, SlotName, SlotData, EventName, EventData, SlotMap, EventMap, EmitArgs,
} from "./core/routine-spec.js";
export { defineRoutine } from "./core/define-routine.js";
export type { RoutineDefinition, SlotDefinition, EventDefinitions, DefinedRoutine } from "./core/define-routine.js";
export { Connection } from "./core/connection.js";
export type { ExecutionContext, HandlerContext, SharedData } from "./core/context.js";
export type { ExecutionStrategy } from "./core/flow-definition.js";

// Execution: flows and their jobs
export { Flow, loadFlowFile } from "./api/flow.js";
export { Worker } from "./api/worker.js";
export type { WorkerOptions, WorkerEvent } from "./api/worker.js";
export { runWorkerProcess } from "./api/worker-process.js";
export type { WorkerProcessOptions, WorkerProcess } from "./api/worker-process.js";
export type { FlowOptions, FlowRuntimeOptions, ExecuteOptions } from "./api/flow-options.js";
export { JobState } from "./api/job-state.js";
export type { JobResult, WaitingInput } from "./api/job-state.js";
export { jobToJson, jobSummaryToJson } from "./api/job-json.js";
export type { JobJson, JobHeadJson, JobSummaryJson, ExecutionRecordJson, OutputRecordJson, PausePointJson } from "./api/job-json.js";
export { JobStateCore } from "./state/job-state.js";
export type { JobStatus, LiveJobStatus } from "./state/job-snapshot.js";
export { JOB_STATUSES } from "./state/job-snapshot.js";
export type { FlowEvent, FlowEventFilter } from "./runtime/events.js";
export type { ExecutionRecord, OutputRecord, DeferredEvent, PausePoint } from "./state/records.js";
export type { PendingTask } from "./state/task.js";

// Persistence: job stores and recovery
export type { JobStore, JobSummary, JobFilter, JobPage, MetadataValue } from "./persistence/job-store.js";
export type {
  StoredJob, StoredCommit, JobWrite, CommitBatch, CommitResult, ClaimRequest, FencedWrite, HeldLease, CommandRequest, CommandState,
} from "./persistence/job-store.js";
export type { JobCommand } from "./state/journal.js";
export { MemoryJobStore } from "./persistence/memory-store.js";
export { SqliteJobStore } from "./persistence/sqlite-store.js";
export type { SqliteJobStoreOptions } from "./persistence/sqlite-store.js";
export { PostgresJobStore } from "./persistence/postgres-store.js";
export type { PostgresJobStoreOptions } from "./persistence/postgres-connection.js";

// Errors and their handling
export { ErrorHandler, ErrorStrategy } from "./core/error-handler.js";
export type { ErrorHandlerOptions, RetryablePredicate } from "./core/error-handler.js";
export {
  RoutiluxError, FlowDefinitionError, SerializationError, JobStateError, StoreError, TimeoutError, ValidationError, CancelledError,
} from "./core/errors.js";

// Time
export { SimulatedClock, systemClock } from "./core/clock.js";
export type { Clock, TimerHandle } from "./core/clock.js";

// Outputs
export { QueueOutputHandler, CallbackOutputHandler, NullOutputHandler } from "./state/output-handlers.js";
export type { OutputHandler } from "./state/output-handlers.js";

// Metrics
export { ExecutionTracker } from "./runtime/execution-tracker.js";
export type { RoutinePerformance, FlowPerformance } from "./runtime/execution-tracker.js";

// Built-in routines (registered in defaultRegistry under their class names)
export {
  TextClipper, TextRenderer, ResultExtractor, DataTransformer, DataValidator, DataFlattener, ConditionalRouter, TimeProvider,
  Aggregator, Batcher, Debouncer, Splitter, Filter, Mapper, Delay, HumanInput, registerBuiltins,
} from "./builtins/index.js";

// Documents
export type { JobStateDocument } from "./serialization/job-document.js";
export { JOB_DOCUMENT_VERSION } from "./serialization/job-document.js";
export type { FlowDocument, ErrorHandlerDocument } from "./serialization/flow-document.js";
export { FLOW_DOCUMENT_VERSION } from "./serialization/flow-document.js";
export { RoutineRegistry, defaultRegistry } from "./serialization/registry.js";

// Flow files (YAML or JSON) and the expression language
export { parseFlowSpec, stringifyFlowSpec, readFlowFile } from "./serialization/flow-file.js";
export type { FlowFileFormat, ParsedFlowSpec, ParseFlowSpecOptions } from "./serialization/flow-file.js";
export { specToDocument, documentToSpec, registryWithDefaults } from "./serialization/flow-spec-document.js";
export { flowSpecJsonSchema } from "./serialization/flow-spec.js";
export type { FlowSpec, FlowRoutineSpec, ConnectionSpec, ErrorHandlerSpec } from "./serialization/flow-spec.js";
export { FlowSpecError } from "./serialization/flow-spec-error.js";
export type { FlowSpecIssue } from "./serialization/flow-spec-error.js";
export { compileExpression, compileCondition, EXPRESSION_LIMITS } from "./serialization/expression/index.js";
export type { Expression, Condition, CompileOptions, ExpressionKind, ExpressionScope, JsonValue } from "./serialization/expression/index.js";
export type { RoutineConstructor, ErrorClass } from "./serialization/registry.js";
