// A module resolution hook (node:module register) that points the bare specifier "routilux" at the
// copy of the package the command line runs, for the routine modules it imports.
let index;

/** @param {{ index: string }} data */
export function initialize(data) {
  index = data.index;
}

/**
 * @param {string} specifier
 * @param {object} context
 * @param {(specifier: string, context: object) => Promise<object>} next
 */
export function resolve(specifier, context, next) {
  if (specifier === "routilux" && index !== undefined) return { url: index, shortCircuit: true };
  return next(specifier, context);
}
