#!/usr/bin/env node
// Bundles the staff web application (app/*.tsx: Preact, i18next, connect-web and the generated
// service descriptors) with esbuild into dist/public, where every node's web listener serves it
// from, split in chunks: the first page loads the frame and the sign-in page; each page, the Connect
// clients, the barcode and QR code libraries and the Chinese catalogue load when first needed. Part of the build (`npm run build`, `npm start`, `npm test`, `prepare`). Typechecking is
// tsc's (app/tsconfig.json); esbuild only strips the types.
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "dist/public");
// Chunk names change with their content: the old ones go.
rmSync(join(out, "assets"), { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
const started = Date.now();
const res = await build({
  absWorkingDir: root,
  entryPoints: { app: "app/main.tsx" },
  outdir: join(out, "assets"),
  bundle: true,
  format: "esm",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
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
// What the first page loads: the entry, its stylesheet and the chunks it imports statically.
const outputs = res.metafile.outputs;
const first = new Set();
const visit = (f) => {
  if (first.has(f)) return;
  first.add(f);
  for (const i of outputs[f].imports) if (i.kind === "import-statement") visit(i.path);
};
for (const f of Object.keys(outputs)) if (/\/app\.(js|css)$/.test(f)) visit(f);
const size = (files) => {
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const body = readFileSync(join(root, f));
    raw += body.length;
    gzip += gzipSync(body, { level: 9 }).length;
  }
  return `${(raw / 1024).toFixed(0)} KiB (gzip ${(gzip / 1024).toFixed(0)} KiB)`;
};
const all = Object.keys(outputs).filter((f) => !f.endsWith(".map"));
process.stdout.write(
  `web application bundled in ${Date.now() - started} ms: the first page loads ${first.size} files, ` +
    `${size(first)}; ${all.length} files, ${size(all)} in all\n`,
);
