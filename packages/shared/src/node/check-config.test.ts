import { execFile } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import { checkConfig } from "./check-config.js";

const run = promisify(execFile);
const REGIONAL_BIN = new URL("../../../regional-center/bin/lrs-regional.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "lrs-check-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const REGIONAL = [
  'id = "north-rc"',
  'name = "North Regional Center"',
  'region = "north"',
  'advertise = "north-rc.example.org:7400"',
  'parent = "national.example.org:7400"',
  'data_dir = "north-data"',
  "",
].join("\n");

/** Runs the built lrs-regional; never throws, returns the exit code and output. */
async function lrsRegional(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [REGIONAL_BIN, ...args], {
      env: { ...process.env, LRS_CONFIG: "", REGIONAL_CONFIG: "", ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("check-config", () => {
  it("reports the listeners on their default ports, the advertised address and what is still to do", () => {
    const res = checkConfig(Tier.REGIONAL, config("ok.toml", REGIONAL), {});
    expect(res).toMatchObject({
      ok: true,
      tier: "regional",
      id: "north-rc",
      advertise: "north-rc.example.org:7400",
      listeners: {
        listen: "0.0.0.0:7400",
        sru_listen: "127.0.0.1:8210",
        metrics_listen: "127.0.0.1:9464",
        web_listen: "127.0.0.1:8081",
      },
      dataDir: join(dir, "north-data"),
      enrolled: false,
    });
    expect(res.hostNames).toContain("north-rc.example.org");
    expect(res.notes).toEqual([
      `not enrolled yet: run "lrs-regional enroll --config ${join(dir, "ok.toml")} --token …" with a token from the parent node`,
    ]);
  });

  it("refuses two listeners on one port, naming both settings", () => {
    const path = config("clash.toml", `${REGIONAL}metrics_listen = "0.0.0.0:8210"\n`);
    expect(() => checkConfig(Tier.REGIONAL, path, {})).toThrow(
      `config file ${path}: setting "metrics_listen" (0.0.0.0:8210) uses the port of "sru_listen" (127.0.0.1:8210); give each listener its own port`,
    );
  });

  it.skipIf(process.getuid?.() === 0)("refuses a data directory this user cannot create", () => {
    const locked = join(dir, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    const path = config("locked.toml", REGIONAL.replace('"north-data"', `"${locked}/data"`));
    expect(() => checkConfig(Tier.REGIONAL, path, {})).toThrow(/setting "data_dir": .* cannot be created/);
  });

  it("refuses a data directory that is a file", () => {
    writeFileSync(join(dir, "a-file"), "");
    const path = config("file.toml", REGIONAL.replace('"north-data"', '"a-file"'));
    expect(() => checkConfig(Tier.REGIONAL, path, {})).toThrow(
      `config file ${path}: setting "data_dir": ${join(dir, "a-file")} exists and is not a directory`,
    );
  });

  it("as a command: exit 0 and a summary; exit 1 naming the setting and the file; the path from the environment", async () => {
    const good = config("cli-ok.toml", REGIONAL);
    const ok = await lrsRegional(["check-config", "--config", good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`${good}: valid regional config for north-rc (region north)`);

    const bad = config("cli-bad.toml", REGIONAL.replace('advertise = "north-rc.example.org:7400"\n', ""));
    const failed = await lrsRegional(["check-config"], { REGIONAL_CONFIG: bad });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      new RegExp(
        `^error: config file ${bad}: setting "advertise" is missing: "listen" is 0\\.0\\.0\\.0:7400`,
      ),
    );

    const json = await lrsRegional(["check-config", "--json"], { LRS_CONFIG: bad });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, source: bad, setting: "advertise" });

    const none = await lrsRegional(["check-config"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/--config <file>.*not specified/);
  }, 120_000);
});
