#!/usr/bin/env node
// CI guard: `buf lint` must pass, the contract must not break the last release's (`buf breaking`
// against the newest image in proto/releases), and regenerating the Protobuf code must not
// change what is committed in packages/shared/src/gen.
//
// Making a release: `npx buf build -o proto/releases/vX.Y.Z.binpb` at the release commit.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const buf = join(root, "node_modules/.bin/buf");
// buf finds protoc-gen-es on PATH, as it does under `npm run`.
const env = { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` };
const run = (args, cwd = root) =>
  execFileSync(buf, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] }).toString();

function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

function check(what, args) {
  try {
    return run(args);
  } catch (err) {
    process.stderr.write(`${what} failed:\n${err.stdout ?? ""}${err.stderr ?? err.message}`);
    process.exit(1);
  }
}

check("buf lint", ["lint"]);

/** The image of the last released contract: the highest version in proto/releases. */
function lastRelease() {
  const dir = join(root, "proto/releases");
  const version = (name) => name.slice(1, -".binpb".length).split(".").map(Number);
  const images = readdirSync(dir)
    .filter((n) => /^v\d+\.\d+\.\d+\.binpb$/.test(n))
    .sort((a, b) => {
      const [x, y] = [version(a), version(b)];
      return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
    });
  if (images.length === 0) {
    process.stderr.write(`no released contract in ${dir} (vX.Y.Z.binpb)\n`);
    process.exit(1);
  }
  return images.at(-1);
}
const release = lastRelease();
check(`buf breaking against ${release}`, ["breaking", "--against", `proto/releases/${release}`]);

const tmp = mkdtempSync(join(tmpdir(), "lrs-gen-"));
try {
  const template = readFileSync(join(root, "buf.gen.yaml"), "utf8").replace(
    "out: packages/shared/src/gen",
    `out: ${tmp}`,
  );
  const templatePath = join(tmp, "buf.gen.yaml");
  writeFileSync(templatePath, template);
  check("buf generate", ["generate", "--template", templatePath]);
  const committed = join(root, "packages/shared/src/gen");
  const want = new Map(
    files(tmp)
      .filter((f) => f.endsWith(".ts"))
      .map((f) => [relative(tmp, f), readFileSync(f, "utf8")]),
  );
  const have = new Map(files(committed).map((f) => [relative(committed, f), readFileSync(f, "utf8")]));
  const problems = [];
  for (const [k, v] of want)
    if (have.get(k) !== v) problems.push(have.has(k) ? `changed: ${k}` : `missing: ${k}`);
  for (const k of have.keys()) if (!want.has(k)) problems.push(`stale: ${k}`);
  if (problems.length) {
    process.stderr.write(
      `generated code is out of date (run "npm run gen" and commit):\n  ${problems.join("\n  ")}\n`,
    );
    process.exit(1);
  }
  process.stdout.write(
    `buf lint clean; no breaking change against ${release}; generated code matches the proto files (${want.size} files)\n`,
  );
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
