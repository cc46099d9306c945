// The previous release's programs, for mixed-version tests. There is no release artifact to
// download (nothing is published), so the release is built from its commit: `git archive` of the
// commit the last released contract was made from (proto/releases/v0.1.0.binpb, "built from main
// at 83a3c4d"), compiled with this checkout's TypeScript against this checkout's node_modules (the
// release's dependencies are a subset of today's, same major versions), with its own workspace
// packages linked in place of today's. Cached under node_modules/.cache, so only the first run
// pays for the build (a few minutes on two busy cores).
import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "@lrs/dev-env";

export const PREVIOUS_RELEASE = { version: "0.1.0", commit: "83a3c4d8b328400afb800311959242a410ea5d1c" };

export type PreviousRelease = { root: string } | { unavailable: string };

const CACHE = join(REPO_ROOT, "node_modules", ".cache", `lrs-release-${PREVIOUS_RELEASE.version}`);
const MARKER = join(CACHE, ".built");

function git(args: string[]): Buffer {
  return execFileSync("git", args, { cwd: REPO_ROOT, maxBuffer: 512 * 1024 * 1024 });
}

/** node_modules for the release: today's third-party packages, the release's own workspace packages. */
function linkModules(src: string): void {
  const nm = join(src, "node_modules");
  mkdirSync(join(nm, "@lrs"), { recursive: true });
  for (const entry of readdirSync(join(REPO_ROOT, "node_modules"))) {
    if (entry === "@lrs" || entry === ".cache") continue;
    symlinkSync(join(REPO_ROOT, "node_modules", entry), join(nm, entry));
  }
  const workspaces = (JSON.parse(readFileSync(join(src, "package.json"), "utf8")) as { workspaces: string[] })
    .workspaces;
  for (const ws of workspaces) {
    const name = (JSON.parse(readFileSync(join(src, ws, "package.json"), "utf8")) as { name: string }).name;
    symlinkSync(join("..", "..", ws), join(nm, name));
  }
}

/** The previous release, built (once; cached), or why it cannot be had here. */
export function previousRelease(): PreviousRelease {
  if (existsSync(MARKER) && readFileSync(MARKER, "utf8").trim() === PREVIOUS_RELEASE.commit)
    return { root: CACHE };
  try {
    git(["cat-file", "-e", `${PREVIOUS_RELEASE.commit}^{commit}`]);
  } catch {
    const shallow = (() => {
      try {
        return git(["rev-parse", "--is-shallow-repository"]).toString().trim() === "true";
      } catch {
        return false;
      }
    })();
    return {
      unavailable: `the release commit ${PREVIOUS_RELEASE.commit} is not in this clone${shallow ? " (a shallow clone: fetch with full history, `git fetch --unshallow`)" : " (not a git checkout, or history rewritten)"}`,
    };
  }
  const tmp = `${CACHE}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync("tar", ["-x", "-C", tmp], { input: git(["archive", PREVIOUS_RELEASE.commit]) });
  linkModules(tmp);
  const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-b"], { cwd: tmp, stdio: "pipe" });
  // The national center's dashboard bundle (esbuild), as the release's `npm run build` made it.
  execFileSync(process.execPath, ["scripts/build-dashboard.mjs"], {
    cwd: join(tmp, "packages", "national-center"),
    stdio: "pipe",
  });
  writeFileSync(join(tmp, ".built"), `${PREVIOUS_RELEASE.commit}\n`);
  rmSync(CACHE, { recursive: true, force: true });
  renameSync(tmp, CACHE);
  return { root: CACHE };
}
