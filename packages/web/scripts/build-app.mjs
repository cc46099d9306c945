#!/usr/bin/env node
// Bundles the staff web application (app/*.tsx: Preact, i18next, connect-web and the generated
// service descriptors) with esbuild into dist/public, where every node's web listener serves it
// from. Part of the build (`npm run build`, `npm start`, `npm test`, `prepare`). Typechecking is
// tsc's (app/tsconfig.json); esbuild only strips the types.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist/public");
mkdirSync(join(out, "assets"), { recursive: true });
const started = Date.now();
const res = await build({
  absWorkingDir: root,
  entryPoints: { app: "app/main.tsx" },
  outdir: join(out, "assets"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022", "chrome110", "firefox110", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  sourcemap: true,
  logLevel: "warning",
  metafile: true,
});
copyFileSync(join(root, "app/index.html"), join(out, "index.html"));
const bytes = Object.entries(res.metafile.outputs)
  .filter(([f]) => !f.endsWith(".map"))
  .map(([f, o]) => `${f.split("/").pop()} ${(o.bytes / 1024).toFixed(0)} KiB`)
  .join(", ");
process.stdout.write(`web application bundled in ${Date.now() - started} ms: ${bytes}\n`);
