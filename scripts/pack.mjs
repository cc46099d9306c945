#!/usr/bin/env node
// Makes one installable artifact per program — dist-pack/lrs-member-<version>.tgz,
// lrs-regional-…, lrs-national-… — that `npm install -g ./lrs-member-<version>.tgz` installs on a
// machine with no checkout and no dev dependencies. Each is the program bundled by esbuild into
// one file, plus the packages that cannot be bundled as runtime dependencies:
//   better-sqlite3  native: npm installs it as the package ships it (a prebuilt binary where one
//                   can be had, else it compiles with python3, make and g++);
//   pino, pino-pretty  pino's transports run in a worker thread that loads them by file name.
// The national center's dashboard (browser files) goes beside the bundle, where it is served from.
// Needs `npm run build` first (bundles the compiled dist/). Usage: node scripts/pack.mjs [--out DIR]
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outIndex = args.indexOf("--out");
const OUT = resolve(outIndex >= 0 ? args[outIndex + 1] : join(ROOT, "dist-pack"));

const json = (path) => JSON.parse(readFileSync(path, "utf8"));
const rootPkg = json(join(ROOT, "package.json"));

/** The version the lockfile installed, so an artifact depends on what the tests ran against. */
function locked(name) {
  const lock = json(join(ROOT, "package-lock.json"));
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry) throw new Error(`${name} is not in package-lock.json`);
  return entry.version;
}

const EXTERNAL = ["better-sqlite3", "pino", "pino-pretty"];

const PROGRAMS = [
  { bin: "lrs-member", pkg: "packages/member-node", what: "a member library's node" },
  { bin: "lrs-regional", pkg: "packages/regional-center", what: "a regional center" },
  {
    bin: "lrs-national",
    pkg: "packages/national-center",
    what: "the national center",
    assets: [["dist/dashboard/public", "dist/public"]],
  },
];

mkdirSync(OUT, { recursive: true });
const made = [];
for (const p of PROGRAMS) {
  const pkgDir = join(ROOT, p.pkg);
  const entry = join(pkgDir, "dist/main.js");
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first`);
  const version = json(join(pkgDir, "package.json")).version;
  const stage = mkdtempSync(join(tmpdir(), `${p.bin}-pack-`));
  try {
    await build({
      entryPoints: [entry],
      outfile: join(stage, "dist", `${p.bin}.mjs`),
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      external: EXTERNAL,
      // CommonJS dependencies that call require() need one inside an ES module.
      banner: {
        js: 'import { createRequire as __lrsCreateRequire } from "node:module"; const require = __lrsCreateRequire(import.meta.url);',
      },
      sourcemap: "linked",
      legalComments: "linked",
      logLevel: "warning",
    });
    for (const [from, to] of p.assets ?? []) cpSync(join(pkgDir, from), join(stage, to), { recursive: true });
    mkdirSync(join(stage, "bin"));
    const binFile = join(stage, "bin", `${p.bin}.js`);
    writeFileSync(binFile, `#!/usr/bin/env node\nimport "../dist/${p.bin}.mjs";\n`);
    chmodSync(binFile, 0o755);
    const dependencies = {};
    for (const name of EXTERNAL) dependencies[name] = locked(name);
    writeFileSync(
      join(stage, "package.json"),
      `${JSON.stringify(
        {
          name: p.bin,
          version,
          description: `LRS ${p.what}: ${rootPkg.description}`,
          license: rootPkg.license,
          type: "module",
          bin: { [p.bin]: `bin/${p.bin}.js` },
          engines: rootPkg.engines,
          dependencies,
          // better-sqlite3 builds or fetches its native module when installed.
          allowScripts: { "better-sqlite3": true },
        },
        null,
        2,
      )}\n`,
    );
    cpSync(join(ROOT, "LICENSE"), join(stage, "LICENSE"));
    writeFileSync(
      join(stage, "README.md"),
      `# ${p.bin}\n\nLRS ${p.what}, bundled from the LRS repository (version ${version}).\n` +
        `\`${p.bin} --help\` lists the commands; \`${p.bin} check-config --config FILE\` validates a config.\n` +
        "Example configs, systemd units and container files are in the repository's deploy/ folder.\n",
    );
    const file = execFileSync("npm", ["pack", "--silent", "--pack-destination", OUT], {
      cwd: stage,
      encoding: "utf8",
    })
      .trim()
      .split("\n")
      .at(-1);
    made.push(join(OUT, file));
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
for (const f of made) process.stdout.write(`${f}\n`);
