// `lrs-<tier> user …`: staff accounts of the web application, from the node's machine.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  configOption,
  Database,
  isLoopback,
  loadConfig,
  type NodeConfig,
  printJson,
  printTable,
  sharedMigrations,
  splitHostPort,
  type Tier,
} from "@lrs/shared";
import type { Command } from "commander";
import { Accounts, parseRole, ROLES } from "./store/accounts.js";
import { webMigrations } from "./store/migrations.js";

/** The address staff open: web_public_url, else web_listen (HTTPS beyond loopback). */
export function webBaseUrl(cfg: NodeConfig): string {
  if (cfg.web.publicUrl) return cfg.web.publicUrl.replace(/\/$/, "");
  const { host, port } = splitHostPort(cfg.web.listen);
  const wildcard = host === "0.0.0.0" || host === "::" || host === "";
  const name = wildcard ? (cfg.hostNames[0] ?? "127.0.0.1") : host.includes(":") ? `[${host}]` : host;
  const tls = !isLoopback(host) || !!cfg.web.certFile;
  return `${tls ? "https" : "http"}://${name}:${port}`;
}

/**
 * The accounts live in the node's database; the command opens it with the shared and web
 * migrations only (the node adds its own when it starts; versions never collide).
 */
function openDb(cfg: NodeConfig): Database {
  return Database.open(join(cfg.dataDir, "node.db"), [...sharedMigrations, ...webMigrations]);
}

/** Runs `fn` with the node's database (shared and web migrations) and config, then closes it. */
export async function withWebDb<T>(
  tier: Tier,
  configPath: string,
  fn: (db: Database, cfg: NodeConfig) => Promise<T> | T,
): Promise<T> {
  const cfg = loadConfig(tier, configPath);
  const db = openDb(cfg);
  try {
    return await fn(db, cfg);
  } finally {
    db.close();
  }
}

export function addUserCommands(program: Command, tier: Tier): void {
  const user = program.command("user").description("staff accounts of the web application");
  const withAccounts = <T>(configPath: string, fn: (a: Accounts, cfg: NodeConfig) => Promise<T> | T) =>
    withWebDb(tier, configPath, (db, cfg) => fn(new Accounts(db), cfg));
  const printLink = (cfg: NodeConfig, name: string, token: string, json?: boolean) => {
    const base = webBaseUrl(cfg);
    const link = `${base}/set-password?token=${token}`;
    if (json) printJson({ user: name, link, ...(base ? {} : { warning: "web_listen is not set" }) });
    else {
      process.stdout.write(`set ${name}'s password (once, within 24 hours) at:\n  ${link}\n`);
      if (!base)
        process.stderr.write(
          "note: web_listen is not set in the configuration: the node serves no web application\n",
        );
    }
  };

  user
    .command("add")
    .description("add a staff account and print a one-time link to set its password")
    .addOption(configOption())
    .argument("<name>", "user name (letters, digits, . _ @ -)")
    .requiredOption("--role <role>", `one of ${ROLES.join(", ")}`)
    .option(
      "--password-file <file>",
      "set the password from the first line of this file instead of printing a link (automation, the demo)",
    )
    .option("--json", "print as JSON")
    .action((name: string, o: { config: string; role: string; passwordFile?: string; json?: boolean }) =>
      withAccounts(o.config, async (a, cfg) => {
        const role = parseRole(o.role);
        const token = a.add(name, role);
        if (!o.passwordFile) return printLink(cfg, name, token, o.json);
        await a.setPassword(name, readFileSync(o.passwordFile, "utf8").split(/\r?\n/)[0] ?? "");
        if (o.json) printJson({ user: name, role, web: webBaseUrl(cfg) });
        else process.stdout.write(`added ${name} (${role}) with the password from ${o.passwordFile}\n`);
      }),
    );

  user
    .command("link")
    .description("print a new one-time link to set a user's password (a forgotten password; lifts a lockout)")
    .addOption(configOption())
    .argument("<name>")
    .option("--json", "print as JSON")
    .action((name: string, o: { config: string; json?: boolean }) =>
      withAccounts(o.config, (a, cfg) => printLink(cfg, name, a.newPasswordLink(name), o.json)),
    );

  user
    .command("list")
    .description("list the staff accounts")
    .addOption(configOption())
    .option("--json", "print as JSON")
    .action((o: { config: string; json?: boolean }) =>
      withAccounts(o.config, (a) => {
        const users = a.list();
        if (o.json) return printJson({ users });
        if (users.length === 0)
          process.stdout.write("no staff accounts yet: add one with `user add NAME --role admin`\n");
        printTable(
          users.map((u) => ({
            user: u.name,
            role: u.role,
            password: u.hasPassword ? "set" : "not set",
            state: u.disabled
              ? "disabled"
              : u.lockedUntil
                ? `locked until ${u.lockedUntil.toISOString()}`
                : "active",
            "last sign-in": u.lastLoginAt ?? "",
          })),
        );
      }),
    );
}
