import { readFileSync } from "node:fs";

/**
 * The program's version: `version` of the package.json one directory above this file's
 * directory — packages/shared/package.json in a checkout (the workspaces keep one version), the
 * package's own in an installed artifact (scripts/pack.mjs puts the bundle in dist/).
 */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
})();
