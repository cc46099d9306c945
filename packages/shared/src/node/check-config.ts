import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { type Command, Option } from "commander";
import { ConfigError, loadConfig, type NodeConfig } from "../config.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import { hasIdentity } from "../tls/identity.js";
import { tierName } from "../tls/pki.js";

/** What `check-config` found: the settings that matter to an operator, and what is still to do. */
export interface ConfigCheck {
  ok: true;
  file: string;
  tier: string;
  id: string;
  region: string;
  listen: string;
  advertise: string;
  hostNames: string[];
  parent?: string;
  listeners: Record<string, string>;
  dataDir: string;
  enrolled: boolean;
  notes: string[];
}

/** The nearest directory that exists at or above `path`. */
function existingAncestor(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

/**
 * Validates a config as `serve` would read it (file, environment overrides, defaults, every rule)
 * and checks what start-up would need of the machine: a data directory this user can write or
 * create. Starts nothing and opens no database.
 */
export function checkConfig(tier: Tier, file: string, env: NodeJS.ProcessEnv = process.env): ConfigCheck {
  const cfg: NodeConfig = loadConfig(tier, file, env);
  const where = `config file ${cfg.source}`;
  if (existsSync(cfg.dataDir) && !statSync(cfg.dataDir).isDirectory())
    throw new ConfigError(
      `${where}: setting "data_dir": ${cfg.dataDir} exists and is not a directory`,
      "data_dir",
      cfg.source,
    );
  const writable = existingAncestor(cfg.dataDir);
  try {
    accessSync(writable, constants.W_OK);
  } catch {
    throw new ConfigError(
      `${where}: setting "data_dir": ${cfg.dataDir} cannot be ${writable === cfg.dataDir ? "written" : `created (${writable} is not writable)`} by this user`,
      "data_dir",
      cfg.source,
    );
  }
  const enrolled = hasIdentity(cfg.dataDir);
  const name = `lrs-${tierName(tier)}`;
  const notes: string[] = [];
  if (!enrolled)
    notes.push(
      tier === Tier.NATIONAL
        ? `no certificate yet: run "${name} ca init --config ${cfg.source}" once`
        : `not enrolled yet: run "${name} enroll --config ${cfg.source} --token …" with a token from the parent node`,
    );
  const listeners: Record<string, string> = { listen: cfg.listen, metrics_listen: cfg.metricsListen };
  if (cfg.sruListen) listeners.sru_listen = cfg.sruListen;
  if (cfg.dashboardListen) listeners.dashboard_listen = cfg.dashboardListen;
  listeners.web_listen = cfg.web.listen;
  return {
    ok: true,
    file: cfg.source,
    tier: tierName(tier),
    id: cfg.id,
    region: cfg.region,
    listen: cfg.listen,
    advertise: cfg.advertise,
    hostNames: cfg.hostNames,
    ...(cfg.parent ? { parent: cfg.parent } : {}),
    listeners,
    dataDir: cfg.dataDir,
    enrolled,
    notes,
  };
}

/** `check-config`: validate a node's config without starting it; exit 1 naming the setting and the file. */
export function addCheckConfigCommand(program: Command, tier: Tier, configOption: () => Option): void {
  program
    .command("check-config")
    .description(
      "validate the config (file, environment overrides, data directory) without starting the node",
    )
    .addOption(configOption())
    .addOption(new Option("--json", "print the result as JSON (also on failure)"))
    .action((o: { config: string; json?: boolean }) => {
      let res: ConfigCheck;
      try {
        res = checkConfig(tier, o.config);
      } catch (err) {
        if (!(err instanceof ConfigError) || !o.json) throw err;
        process.stdout.write(
          `${JSON.stringify({ ok: false, source: err.source, setting: err.setting, error: err.message }, null, 2)}\n`,
        );
        process.exitCode = 1;
        return;
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
        return;
      }
      const rows: Array<[string, string]> = [
        ["advertise", `${res.advertise} (certificate names ${res.hostNames.join(", ")})`],
        ...(res.parent ? [["parent", res.parent] as [string, string]] : []),
        ...Object.entries(res.listeners),
        ["data_dir", res.dataDir],
        ...res.notes.map((n): [string, string] => ["note", n]),
      ];
      const lines = [
        `${res.file}: valid ${res.tier} config for ${res.id}${res.region ? ` (region ${res.region})` : ""}`,
        ...rows.map(([k, v]) => `  ${k.padEnd(17)} ${v}`),
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
    });
}
