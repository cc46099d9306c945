import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";
import { Tier } from "./gen/lrs/v1/common_pb.js";

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "lrs-config-"));
  const path = join(dir, "node.toml");
  writeFileSync(path, text);
  return path;
}

function error(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

const member =
  'id = "m1"\nname = "Member One"\nregion = "north"\nlisten = "127.0.0.1:7001"\nparent = "127.0.0.1:7000"\n';

describe("node config", () => {
  it("applies defaults and resolves the data directory beside the file", () => {
    const path = file(member);
    const cfg = loadConfig(Tier.MEMBER, path, {});
    expect(cfg).toMatchObject({
      id: "m1",
      region: "north",
      advertise: "127.0.0.1:7001",
      parent: "127.0.0.1:7000",
      shutdownGraceMs: 10_000,
    });
    expect(cfg.dataDir).toBe(join(path, "..", "data-m1"));
    expect(cfg.hostNames).toEqual(["localhost", "127.0.0.1", "::1"]);
    expect(cfg.lendingPolicy.loan_period_days).toBe(28);
  });

  it("names the missing setting and the file", () => {
    const path = file('id = "m1"\nname = "x"\nregion = "north"\nparent = "127.0.0.1:7000"\n');
    const err = error(() => loadConfig(Tier.MEMBER, path, {}));
    expect(err.message).toBe(`config file ${path}: setting "listen" is missing`);
    expect(err.setting).toBe("listen");
  });

  it("names a wrong value, an unknown setting and a missing parent", () => {
    expect(
      error(() => loadConfig(Tier.MEMBER, file(member.replace("127.0.0.1:7001", "nowhere")), {})).message,
    ).toMatch(/setting "listen": expected host:port/);
    expect(error(() => loadConfig(Tier.MEMBER, file(`${member}colour = "blue"\n`), {})).message).toMatch(
      /unknown setting "colour"/,
    );
    expect(error(() => loadConfig(Tier.MEMBER, file(member.replace(/parent.*\n/, "")), {})).message).toMatch(
      /setting "parent" is missing \(the gRPC address of the regional center\)/,
    );
    expect(error(() => loadConfig(Tier.NATIONAL, file(member), {})).message).toMatch(
      /"region" does not apply to the national center/,
    );
    expect(error(() => loadConfig(Tier.MEMBER, file(member.replace('"m1"', '"M 1"')), {})).message).toMatch(
      /setting "id": expected an id/,
    );
    expect(
      error(() => loadConfig(Tier.MEMBER, file(`${member}[log]\nlevel = "loud"\n`), {})).message,
    ).toMatch(/setting "log.level"/);
  });

  it("says when the file is missing or not TOML", () => {
    expect(error(() => loadConfig(Tier.MEMBER, "/nonexistent/lrs.toml", {})).message).toBe(
      "config file /nonexistent/lrs.toml does not exist",
    );
    expect(error(() => loadConfig(Tier.MEMBER, file("id = "), {})).message).toMatch(/is not valid TOML/);
  });

  it("lets environment variables with the tier prefix override the file, and names them in errors", () => {
    const path = file(member);
    const cfg = loadConfig(Tier.MEMBER, path, {
      MEMBER_LISTEN: "127.0.0.1:9999",
      MEMBER_LOG_LEVEL: "debug",
      REGIONAL_LISTEN: "127.0.0.1:1",
    });
    expect(cfg.listen).toBe("127.0.0.1:9999");
    expect(cfg.log.level).toBe("debug");
    const err = error(() => loadConfig(Tier.MEMBER, path, { MEMBER_LISTEN: "bad" }));
    expect(err.message).toMatch(/^environment variable MEMBER_LISTEN: setting "listen"/);
  });
});
