import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts"],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "cross-node",
          include: ["test/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Each file starts its own processes on its own ports; two at a time suits 2 cores.
          maxWorkers: 2,
          fileParallelism: true,
        },
      },
    ],
  },
});
