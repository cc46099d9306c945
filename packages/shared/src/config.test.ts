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

  it("reads [notifications] and [web.oidc], and refuses settings that do not go together", () => {
    const smtp =
      '\n[notifications]\nsmtp_host = "smtp.example.org"\nfrom = "ILL <ill@example.org>"\nsmtp_user = "lrs"\n';
    const cfg = loadConfig(Tier.MEMBER, file(`${member}${smtp}`), {
      MEMBER_NOTIFICATIONS_SMTP_PASSWORD: "pw",
    });
    expect(cfg.notifications).toMatchObject({
      smtp_host: "smtp.example.org",
      smtp_security: "starttls",
      smtp_password: "pw",
      digest_time: "07:00",
      attempts: 8,
      webhook_hosts: [],
      default_language: "en",
    });
    const hosts = loadConfig(
      Tier.MEMBER,
      file(
        `${member}\n[notifications]\nwebhook_hosts = ["hooks.example.org", "*.example.net", "10.0.0.0/8", "::1"]\ndefault_language = "zh-Hans"\n`,
      ),
      {},
    ).notifications;
    expect(hosts).toMatchObject({
      webhook_hosts: ["hooks.example.org", "*.example.net", "10.0.0.0/8", "::1"],
      default_language: "zh-Hans",
    });
    expect(
      error(() =>
        loadConfig(Tier.MEMBER, file(`${member}\n[notifications]\nwebhook_hosts = ["https://x/"]\n`), {}),
      ).message,
    ).toMatch(/webhook_hosts.*expected a host name, "\*\.domain", an address or a CIDR range/);
    expect(error(() => loadConfig(Tier.MEMBER, file(`${member}${smtp}`), {})).message).toMatch(
      /"notifications.smtp_password" goes with the other/,
    );
    expect(
      error(() => loadConfig(Tier.MEMBER, file(`${member}\n[notifications]\nfrom = "a@b.org"\n`), {}))
        .message,
    ).toMatch(/"notifications.from" needs notifications.smtp_host/);
    expect(
      error(() =>
        loadConfig(
          Tier.MEMBER,
          file(
            `${member}\n[notifications]\nsmtp_host = "smtp.example.org"\nsmtp_security = "none"\nfrom = "a@b.org"\n`,
          ),
          {},
        ),
      ).message,
    ).toMatch(/"none" is allowed for a relay on this machine only/);
    expect(
      error(() => loadConfig(Tier.MEMBER, file(`${member}\n[notifications]\ndigest_time = "7am"\n`), {}))
        .message,
    ).toMatch(/notifications.digest_time.*HH:MM/);
    const oidc = '\n[web.oidc]\nissuer = "https://login.example.org"\nclient_id = "lrs"\n';
    expect(
      loadConfig(Tier.MEMBER, file(`${member}${oidc}\n[web.oidc.roles]\nstaff = ["ill"]\n`), {}).web.oidc,
    ).toMatchObject({
      issuer: "https://login.example.org",
      group_claim: "groups",
      roles: { staff: ["ill"] },
    });
    expect(
      error(() => loadConfig(Tier.MEMBER, file(`${member}${oidc}\n[web.oidc.roles]\n`), {})).message,
    ).toMatch(/maps no group to a role/);
    expect(
      error(() =>
        loadConfig(
          Tier.MEMBER,
          file(
            `${member}${oidc.replace("https://login", "http://login")}\n[web.oidc.roles]\nstaff = ["x"]\n`,
          ),
          {},
        ),
      ).message,
    ).toMatch(/must be https/);
  });

  it("reads [ncip] with its defaults, and refuses live availability without LookupItem", () => {
    const ncip = '\n[ncip]\nurl = "https://ils.example.org/ncip"\nagency_id = "CPL"\n';
    const cfg = loadConfig(Tier.MEMBER, file(`${member}${ncip}\n[availability]\nsource = "ncip"\n`), {});
    expect(cfg.ncip).toMatchObject({
      agency_id: "CPL",
      messages: ["LookupItem", "CheckOutItem", "CheckInItem", "AcceptItem", "DeleteItem"],
      borrowing_library_patron: "ILL-{agency}",
      attempts: 12,
      retry_delay: 30_000,
    });
    expect(cfg.availability.source).toBe("ncip");
    expect(loadConfig(Tier.MEMBER, file(member), {}).availability.source).toBe("catalog");
    const noLookup = error(() =>
      loadConfig(
        Tier.MEMBER,
        file(`${member}${ncip}messages = ["CheckOutItem"]\n\n[availability]\nsource = "ncip"\n`),
        {},
      ),
    );
    expect(noLookup.message).toMatch(/source = "ncip" needs \[ncip\] with LookupItem/);
    const patron = error(() =>
      loadConfig(Tier.MEMBER, file(`${member}${ncip}borrowing_library_patron = "ILL"\n`), {}),
    );
    expect(patron.message).toMatch(/borrowing_library_patron.*must contain \{agency\}/);
  });

  it("names the missing setting and the file", () => {
    const path = file('id = "m1"\nregion = "north"\nparent = "127.0.0.1:7000"\n');
    const err = error(() => loadConfig(Tier.MEMBER, path, {}));
    expect(err.message).toBe(`config file ${path}: setting "name" is missing`);
    expect(err.setting).toBe("name");
  });

  it("listens on the fixed default ports, and refuses to advertise an address nobody can dial", () => {
    const base = 'id = "m1"\nname = "x"\nregion = "north"\nparent = "north-rc.example.org:7400"\n';
    const noAdvertise = file(base);
    const err = error(() => loadConfig(Tier.MEMBER, noAdvertise, {}));
    expect(err.message).toBe(
      `config file ${noAdvertise}: setting "advertise" is missing: "listen" is 0.0.0.0:7400, which other nodes cannot dial; set advertise to the host:port they reach this node at (e.g. "lrs.example.org:7400")`,
    );
    expect(err.setting).toBe("advertise");
    const wildcard = file(`${base}advertise = "0.0.0.0:7400"\n`);
    expect(error(() => loadConfig(Tier.MEMBER, wildcard, {})).message).toBe(
      `config file ${wildcard}: setting "advertise": 0.0.0.0:7400 is not an address other nodes can dial; give this node's host name or address`,
    );
    expect(
      error(() => loadConfig(Tier.MEMBER, noAdvertise, { MEMBER_ADVERTISE: "[::]:7400" })).message,
    ).toMatch(/^environment variable MEMBER_ADVERTISE: setting "advertise": \[::\]:7400 is not/);

    const m = loadConfig(Tier.MEMBER, file(`${base}advertise = "lib.example.org:7400"\n`), {});
    expect(m).toMatchObject({
      listen: "0.0.0.0:7400",
      advertise: "lib.example.org:7400",
      metricsListen: "127.0.0.1:9464",
      web: { listen: "127.0.0.1:8081" },
    });
    expect(m.sruListen).toBeUndefined();
    // The certificate names the advertised host, so that peers dialling it can verify it.
    expect(m.hostNames).toEqual(["localhost", "127.0.0.1", "::1", "lib.example.org"]);
    const nat = loadConfig(
      Tier.NATIONAL,
      file('id = "nat"\nname = "N"\nadvertise = "nat.example.org:7400"\n'),
      {},
    );
    expect(nat).toMatchObject({
      sruListen: "127.0.0.1:8210",
      metricsListen: "127.0.0.1:9464",
      dashboardListen: "127.0.0.1:8080",
    });
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
