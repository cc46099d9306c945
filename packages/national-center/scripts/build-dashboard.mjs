#!/usr/bin/env node
// Bundles the national dashboard's browser client (dashboard/*.ts, uPlot, the stylesheet) with
// esbuild into dist/dashboard/public, where the national center serves it from. Part of the build
// (`npm run build`, `npm start`, `npm test`, and `prepare` after `npm install`): tsc alone does
// not bundle. Typechecking is tsc's (dashboard/tsconfig.json); esbuild only strips the types.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist/dashboard/public");
mkdirSync(out, { recursive: true });
const started = Date.now();
const res = await build({
  absWorkingDir: root,
  entryPoints: { app: "dashboard/main.ts" },
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022", "chrome110", "firefox110", "safari16"],
  minify: true,
  sourcemap: true,
  logLevel: "warning",
  metafile: true,
});
copyFileSync(join(root, "dashboard/index.html"), join(out, "index.html"));
const bytes = Object.entries(res.metafile.outputs)
  .filter(([f]) => !f.endsWith(".map"))
  .map(([f, o]) => `${f.split("/").pop()} ${(o.bytes / 1024).toFixed(0)} KiB`)
  .join(", ");
process.stdout.write(`dashboard bundled in ${Date.now() - started} ms: ${bytes}\n`);
