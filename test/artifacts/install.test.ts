// The installable artifacts, as an operator gets them: scripts/pack.mjs makes
// lrs-{member,regional,national}-<version>.tgz, `npm install -g --prefix` installs them into a
// directory outside the checkout (runtime dependencies only: better-sqlite3 as the package ships
// it, pino), and a national center, a regional center and a member start from the example configs
// in deploy/config — unchanged, with addresses and data directories given by the environment as
// an operator's orchestration would — enroll with tokens and answer a search. Run by
// `npm run test:pack` (it builds and compiles better-sqlite3 once per program: minutes), not by
// `npm test`. LRS_PACK_PREFIX=DIR installs into DIR and keeps it, and when DIR already holds
// the programs (`npm install -g --prefix DIR ./lrs-*.tgz`) tests them without packing again (on a
// busy machine the native build takes long).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, REPO_ROOT } from "@lrs/dev-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const VERSION = (
  JSON.parse(readFileSync(join(REPO_ROOT, "packages/member-node/package.json"), "utf8")) as {
    version: string;
  }
).version;
const TIERS = ["national", "regional", "member"] as const;
type TierName = (typeof TIERS)[number];

const dir = mkdtempSync(join(tmpdir(), "lrs-artifacts-"));
const installed = process.env.LRS_PACK_PREFIX;
const prefix = installed ?? join(dir, "prefix");
const bin = (tier: TierName) => join(prefix, "bin", `lrs-${tier}`);
const env: Record<TierName, Record<string, string>> = { national: {}, regional: {}, member: {} };
const servers: ChildProcess[] = [];

/** Runs an installed program from the temporary directory (never the checkout). */
async function lrs(tier: TierName, args: string[], extra: Record<string, string> = {}) {
  try {
    const r = await run(bin(tier), args, {
      cwd: dir,
      env: { ...process.env, ...env[tier], ...extra },
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(err) };
  }
}

async function ok(tier: TierName, args: string[]): Promise<string> {
  const r = await lrs(tier, args);
  if (r.code !== 0) throw new Error(`lrs-${tier} ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Starts `serve` and waits until `status` answers (the node is up and its CLI reaches it). */
async function serve(tier: TierName): Promise<void> {
  // A file descriptor, open now: spawn takes a stream only once it has one.
  const log = openSync(join(dir, `${tier}.log`), "a");
  const child = spawn(bin(tier), ["serve"], {
    cwd: dir,
    env: { ...process.env, ...env[tier] },
    stdio: ["ignore", log, log],
  });
  child.once("exit", () => closeSync(log));
  servers.push(child);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`lrs-${tier} serve exited ${child.exitCode}; see ${dir}/${tier}.log`);
    if ((await lrs(tier, ["status", "--json"])).code === 0) return;
    if (Date.now() > deadline)
      throw new Error(`lrs-${tier} did not answer status within 60 s; see ${dir}/${tier}.log`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  if (!installed || !existsSync(bin("member"))) await packAndInstall();
  await configure();
}, 2_400_000);

/** Packs the three programs and installs them globally into `prefix`, outside the checkout. */
async function packAndInstall(): Promise<void> {
  const pack = await run(
    process.execPath,
    [join(REPO_ROOT, "scripts/pack.mjs"), "--out", join(dir, "pack")],
    {
      cwd: REPO_ROOT,
    },
  );
  const tarballs = pack.stdout.trim().split("\n");
  expect(tarballs.map((t) => t.split("/").pop()).sort()).toEqual(
    TIERS.map((t) => `lrs-${t}-${VERSION}.tgz`).sort(),
  );
  // A directory with no checkout in it or above it: what `npm install -g` brings is all there is.
  await run("npm", ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", ...tarballs], {
    cwd: dir,
    maxBuffer: 32 * 1024 * 1024,
  });
}

/** The example configs, unchanged; addresses and data directories from the environment. */
async function configure(): Promise<void> {
  mkdirSync(join(dir, "etc"));
  for (const tier of TIERS) {
    const config = join(dir, "etc", `${tier}.toml`);
    copyFileSync(join(REPO_ROOT, "deploy/config", `${tier}.toml`), config);
    const P = tier.toUpperCase();
    env[tier] = {
      LRS_CONFIG: config,
      [`${P}_LISTEN`]: `127.0.0.1:${await freePort()}`,
      [`${P}_METRICS_LISTEN`]: `127.0.0.1:${await freePort()}`,
      [`${P}_WEB_LISTEN`]: `127.0.0.1:${await freePort()}`,
      [`${P}_DATA_DIR`]: join(dir, "data", tier),
    };
    env[tier][`${P}_ADVERTISE`] = env[tier][`${P}_LISTEN`]!;
    if (tier !== "member") env[tier][`${P}_SRU_LISTEN`] = `127.0.0.1:${await freePort()}`;
  }
  env.national.NATIONAL_DASHBOARD_LISTEN = `127.0.0.1:${await freePort()}`;
  env.regional.REGIONAL_PARENT = env.national.NATIONAL_ADVERTISE!;
  env.member.MEMBER_PARENT = env.regional.REGIONAL_ADVERTISE!;
  // pino's pretty transport runs in a worker thread that loads pino-pretty by name: it must work
  // from the installed package too.
  env.member.MEMBER_LOG_PRETTY = "true";
}

afterAll(async () => {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.exitCode !== null) return resolve();
          s.once("exit", () => resolve());
          s.kill("SIGTERM");
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
});

describe("the installed artifacts", () => {
  it("install only their runtime dependencies and tell their version", async () => {
    for (const tier of TIERS) {
      expect((await ok(tier, ["--version"])).trim()).toBe(VERSION);
      const pkg = JSON.parse(
        readFileSync(join(prefix, "lib/node_modules", `lrs-${tier}`, "package.json"), "utf8"),
      ) as { dependencies: Record<string, string>; devDependencies?: unknown };
      expect(Object.keys(pkg.dependencies).sort()).toEqual(["better-sqlite3", "pino", "pino-pretty"]);
      expect(pkg.devDependencies).toBeUndefined();
    }
  });

  it("check-config passes the example configs and rejects a broken one, naming the setting and the file", async () => {
    for (const tier of TIERS) {
      const r = await lrs(tier, ["check-config"]);
      expect(r.code, `lrs-${tier} check-config: ${r.stderr}`).toBe(0);
    }
    const broken = join(dir, "etc", "broken.toml");
    writeFileSync(
      broken,
      readFileSync(join(dir, "etc", "member.toml"), "utf8").replace(
        /loan_period_days = 28/,
        "loan_period_days = 0",
      ),
    );
    const r = await lrs("member", ["check-config", "--config", broken]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: config file ${broken}: setting "lending_policy.loan_period_days"`);
  });

  it("start from the example configs, enroll top down and answer a search across the tiers", async () => {
    await ok("national", ["ca", "init"]);
    await serve("national");
    const regionalToken = (
      await ok("national", ["token", "create", "--id", "north-center", "--region", "north"])
    ).trim();
    await ok("regional", ["enroll", "--token", regionalToken]);
    await serve("regional");
    const memberToken = (await ok("regional", ["token", "create", "--id", "north-univ"])).trim();
    await ok("member", ["enroll", "--token", memberToken]);
    await serve("member");

    const imported = await lrs("member", [
      "import",
      join(REPO_ROOT, "data/marc/lc-marc2bibframe2/loc_general.xml"),
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    // The member's records reach the national union catalog through the regional center.
    let total = 0;
    const deadline = Date.now() + 90_000;
    while (total === 0 && Date.now() < deadline) {
      const out = await ok("member", ["search", "--scope", "national", "--json", "dc.title=history"]);
      total = Math.max(0, ...[...out.matchAll(/"total":\s*"?(\d+)/g)].map((m) => Number(m[1])));
      if (total === 0) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(total).toBeGreaterThan(0);

    const dir_ = JSON.parse(await ok("member", ["directory", "--json"])) as {
      institutions: Array<{ id: string }>;
    };
    expect(dir_.institutions.map((i) => i.id).sort()).toEqual(["national", "north-center", "north-univ"]);
    const metrics = await fetch(`http://${env.national.NATIONAL_METRICS_LISTEN}/metrics`);
    expect(metrics.status).toBe(200);
    const sru = await fetch(
      `http://${env.regional.REGIONAL_SRU_LISTEN}/sru?version=1.2&operation=searchRetrieve&query=dc.title%3Dhistory&maximumRecords=1`,
    );
    expect(await sru.text()).toMatch(/<zs:numberOfRecords>[1-9]\d*<\/zs:numberOfRecords>/);
    const dashboard = await fetch(`http://${env.national.NATIONAL_DASHBOARD_LISTEN}/`);
    expect(dashboard.status).toBeLessThan(500);
    // The member logged through pino-pretty's worker thread: lines for a person, not JSON.
    expect(readFileSync(join(dir, "member.log"), "utf8")).toMatch(/INFO.*\(north-univ\)/);
  }, 600_000);
});
