import { configDefaults, defineConfig } from "vitest/config";

/** Measures tsc's check time: it runs after the other tests, so their load does not count as its time. */
const TIMING = "test/types/typecheck-cost.test.ts";

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, TIMING], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: "timing", include: [TIMING], sequence: { groupOrder: 1 } },
      },
    ],
  },
});
