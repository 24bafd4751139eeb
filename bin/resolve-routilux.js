// A module resolution hook (node:module register) that points the bare specifier "routilux" at the
// copy of the package the command line runs, for the routine modules it imports; and that resolves
// a routine module's JavaScript file URL marked `?routilux-exact` to exactly that file (a loader such as tsx
// would otherwise import `x.ts` for a `--routines ./x.js` that a TypeScript module imports).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

let index;
const EXACT = "routilux-exact";

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
  if (specifier.startsWith("file:") && specifier.includes(EXACT)) {
    const url = new URL(specifier);
    url.searchParams.delete(EXACT);
    // JavaScript is what a loader may swap for TypeScript; TypeScript itself is left to the loader.
    if (/\.(c|m)?jsx?$/.test(url.pathname) && existsSync(fileURLToPath(url))) return { url: url.href, shortCircuit: true };
    return next(url.href, context);
  }
  return next(specifier, context);
}
