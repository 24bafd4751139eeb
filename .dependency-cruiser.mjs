// The layer rules of ARCHITECTURE.md section 2, type-only imports included. Any layer may name
// the public classes' types (Flow, JobState) with `import type`; nothing else climbs a layer.
const PUBLIC_TYPES = "^src/api/(flow|job-state)\\.ts$";

/**
 * A rule forbidding `from` to import `to`, except type-only imports of the public classes.
 * @param {string} name
 * @param {string} from
 * @param {string} to
 * @param {string} comment
 * @returns {object[]}
 */
function layer(name, from, to, comment) {
  return [
    { name: `${name}`, comment, severity: "error", from: { path: from }, to: { path: to, pathNot: PUBLIC_TYPES } },
    { name: `${name}-types`, comment, severity: "error", from: { path: from }, to: { path: PUBLIC_TYPES, dependencyTypesNot: ["type-only"] } },
  ];
}

export default {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "No import cycles that run: a cycle is allowed only if one of its imports is type-only.",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "no-type-cycles",
      severity: "error",
      comment: "No type-only cycles either, except through the public classes' names (which any layer may use) and within core's model, where Routine, Slot and the handler context name each other's types. Cycles across folders would break a layer rule too.",
      from: {},
      to: { circular: true, viaOnly: { pathNot: "^src/(api/(flow|job-state)|core/(routine|slot|context))\\.ts$" } },
    },
    ...layer("core-is-the-base", "^src/core/", "^src/(state|serialization|runtime|persistence|builtins|api|cli|server)/",
      "core imports nothing of the project."),
    ...layer("state-sees-core", "^src/state/", "^src/(serialization|runtime|persistence|builtins|api|cli|server)/",
      "state may import core only."),
    ...layer("serialization-sees-state", "^src/serialization/", "^src/(runtime|persistence|builtins|api|cli|server)/",
      "serialization may import core and state."),
    ...layer("runtime-knows-no-store", "^src/runtime/", "^src/(serialization|persistence|builtins|api|cli|server)/",
      "runtime may import core and state: it reports to the journal port and knows no store."),
    ...layer("persistence-knows-no-engine", "^src/persistence/", "^src/(runtime|builtins|api|cli|server)/",
      "persistence may import core, state and serialization: it knows documents and changes, never the engine."),
    ...layer("builtins-are-routines", "^src/builtins/", "^src/(runtime|persistence|api|cli|server)/",
      "builtins may import core, state and serialization (expressions)."),
    {
      name: "api-below-cli-and-server",
      severity: "error",
      comment: "api wires the layers below it; the command line and the server sit on top.",
      from: { path: "^src/api/" },
      to: { path: "^src/(cli|server)/" },
    },
    {
      name: "cli-and-server-use-the-public-api",
      severity: "error",
      comment: "cli and server import only src/api and the public index.",
      from: { path: "^src/(cli|server)/" },
      to: { path: "^src/(core|state|serialization|runtime|persistence|builtins)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    includeOnly: "^src/",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"] },
  },
};
