/**
 * The built-in routines, and their registration under their class names so that flow files and
 * flow documents can name them.
 */
import type { RoutineRegistry } from "../serialization/registry.js";
import { Aggregator } from "./aggregator.js";
import { Batcher } from "./batcher.js";
import { ConditionalRouter } from "./conditional-router.js";
import { DataFlattener } from "./data-flattener.js";
import { DataTransformer } from "./data-transformer.js";
import { DataValidator } from "./data-validator.js";
import { Debouncer } from "./debouncer.js";
import { Delay } from "./delay.js";
import { Filter } from "./filter.js";
import { HumanInput } from "./human-input.js";
import { Mapper } from "./mapper.js";
import { ResultExtractor } from "./result-extractor.js";
import { Splitter } from "./splitter.js";
import { TextClipper } from "./text-clipper.js";
import { TextRenderer } from "./text-renderer.js";
import { TimeProvider } from "./time-provider.js";

export {
  Aggregator, Batcher, ConditionalRouter, DataFlattener, DataTransformer, DataValidator, Debouncer, Delay, Filter, HumanInput, Mapper,
  ResultExtractor, Splitter, TextClipper, TextRenderer, TimeProvider,
};

/** Every built-in routine class, by the name it is registered under (its class name). */
export const BUILTIN_ROUTINES = Object.freeze({
  TextClipper, TextRenderer, ResultExtractor, DataTransformer, DataValidator, DataFlattener, ConditionalRouter, TimeProvider,
  Aggregator, Batcher, Debouncer, Splitter, Filter, Mapper, Delay, HumanInput,
});

/**
 * Registers every built-in routine in `registry` under its class name. The package does this for
 * `defaultRegistry` when it is loaded; call it for a registry of your own that should know them
 * without falling back to `defaultRegistry`.
 */
export function registerBuiltins(registry: RoutineRegistry): void {
  for (const [name, ctor] of Object.entries(BUILTIN_ROUTINES)) registry.register(name, ctor);
}
