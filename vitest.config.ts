import { defineConfig } from "vitest/config";

/**
 * Tests that drive a program from a Debian package (yaz-client, chromium, xmllint, catmandu …)
 * are named `*.peers.test.ts` and form the "peers" project: `npm run test:peers` runs them after
 * the packages are installed (README, .ci/run); `npm test` runs "unit" and "cross-node", which
 * need nothing that `npm install` does not bring.
 */
const PEERS = "**/*.peers.test.ts";

/** The installable artifacts, packed and installed outside the checkout: `npm run test:pack`. */
const ARTIFACTS = "test/artifacts/**";

/** On a machine busy with other work, `LRS_TEST_TIMEOUT_SCALE=3` gives tests 3× the time (unit and cross-node). */
const SCALE = Number(process.env.LRS_TEST_TIMEOUT_SCALE ?? 1) || 1;

const CROSS_NODE = {
  testTimeout: 120_000 * SCALE,
  hookTimeout: 120_000 * SCALE,
  // Each file starts its own processes on its own ports; two at a time suits 2 cores.
  maxWorkers: 2,
  fileParallelism: true,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts"],
          exclude: [PEERS, "**/node_modules/**"],
          sequence: { groupOrder: 0 },
          testTimeout: 20_000 * SCALE,
          // vitest's default is one worker fewer than the cores: one worker on a 2-core machine,
          // which left a core idle while the unit group ran.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "cross-node",
          include: ["test/**/*.test.ts"],
          exclude: [PEERS, ARTIFACTS, "**/node_modules/**"],
          // Unit tests first, then the files that start processes.
          sequence: { groupOrder: 1 },
          ...CROSS_NODE,
        },
      },
      {
        test: {
          name: "peers",
          include: ["packages/*/src/**/*.peers.test.ts", "test/**/*.peers.test.ts"],
          sequence: { groupOrder: 2 },
          ...CROSS_NODE,
        },
      },
      {
        test: {
          name: "artifacts",
          include: [`${ARTIFACTS}/*.test.ts`],
          sequence: { groupOrder: 3 },
          ...CROSS_NODE,
        },
      },
    ],
  },
});
