import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../config.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "lrs-traffic-config-"));
  dirs.push(dir);
  const path = join(dir, "node.toml");
  writeFileSync(path, text);
  return path;
}

const member =
  'id = "m1"\nname = "Member One"\nregion = "north"\nlisten = "127.0.0.1:7001"\nparent = "127.0.0.1:7000"\n';
const national = 'id = "nat"\nname = "National"\nlisten = "127.0.0.1:7000"\n';

describe("traffic, metrics and dashboard settings", () => {
  it("count, write every minute, keep a week, and listen on loopback on fixed ports by default", () => {
    const m = loadConfig(Tier.MEMBER, file(member), {});
    expect(m.traffic).toEqual({ enabled: true, flush_interval: 60_000, retention: 7 * 86_400_000 });
    expect(m.metricsListen).toBe("127.0.0.1:9464");
    expect(m.dashboardListen).toBeUndefined();
    const n = loadConfig(Tier.NATIONAL, file(national), {});
    expect(n.dashboardListen).toBe("127.0.0.1:8080");
    expect(n.dashboardToken).toBeUndefined();
  });

  it("are read from the file and the environment", () => {
    const n = loadConfig(
      Tier.NATIONAL,
      file(
        `${national}metrics_listen = "127.0.0.1:9464"\ndashboard_listen = "0.0.0.0:8080"\ndashboard_token = "a-long-operator-token"\n[traffic]\nretention = "30d"\n`,
      ),
      { NATIONAL_TRAFFIC_ENABLED: "false", NATIONAL_TRAFFIC_FLUSH_INTERVAL: "5s" },
    );
    expect(n).toMatchObject({
      metricsListen: "127.0.0.1:9464",
      dashboardListen: "0.0.0.0:8080",
      dashboardToken: "a-long-operator-token",
      traffic: { enabled: false, flush_interval: 5_000, retention: 30 * 86_400_000 },
    });
  });

  it("are refused with the setting named when wrong", () => {
    const bad = (tier: Tier, text: string) => {
      try {
        loadConfig(tier, file(text), {});
      } catch (err) {
        if (err instanceof ConfigError) return err.message;
        throw err;
      }
      throw new Error("expected a ConfigError");
    };
    expect(bad(Tier.MEMBER, `${member}[traffic]\nretention = "10m"\n`)).toMatch(
      /setting "traffic.retention": must be at least 1h/,
    );
    expect(bad(Tier.MEMBER, `${member}[traffic]\nflush_interval = "2h"\n`)).toMatch(
      /setting "traffic.flush_interval": must be between 100ms and 1h/,
    );
    expect(bad(Tier.MEMBER, `${member}[traffic]\nsample = true\n`)).toMatch(
      /unknown setting "traffic.sample"/,
    );
    expect(bad(Tier.MEMBER, `${member}dashboard_listen = "127.0.0.1:8080"\n`)).toMatch(
      /setting "dashboard_listen" applies to the national center only/,
    );
    expect(bad(Tier.NATIONAL, `${national}dashboard_token = "short"\n`)).toMatch(
      /setting "dashboard_token": must be at least 16 characters/,
    );
    expect(bad(Tier.NATIONAL, `${national}metrics_listen = "nowhere"\n`)).toMatch(
      /setting "metrics_listen": expected host:port/,
    );
  });
});
