import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { adminPb, createNodeTransport, healthPb, identityPaths, type NodeTransport } from "@lrs/shared";
import { LinkProxy } from "./chaos/link-proxy.js";
import { writeDemoItems } from "./demo-data.js";
import { freePort, portIsFree } from "./ports.js";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (dev-env lives in packages/dev-env/dist). */
export const REPO_ROOT = resolve(here, "../../..");

export type TierName = "national" | "regional" | "member";

export const BIN: Record<TierName, string> = {
  national: join(REPO_ROOT, "packages/national-center/bin/lrs-national.js"),
  regional: join(REPO_ROOT, "packages/regional-center/bin/lrs-regional.js"),
  member: join(REPO_ROOT, "packages/member-node/bin/lrs-member.js"),
};

/** The demo's staff account on every node (an admin); its password is made per federation. */
export const DEMO_WEB_USER = "demo";
const demoWebPassword = () => `lrs-${randomBytes(9).toString("base64url")}`;

/** One node of a federation as the manifest describes it (paths absolute). */
export interface ManifestNode {
  id: string;
  name: string;
  tier: TierName;
  region: string;
  grpc: string;
  config: string;
  dataDir: string;
  caCert: string;
  cert: string;
  key: string;
  log: string;
  /** SRU base URL (regional and national centers). */
  sru?: string;
  /** OAI-PMH base URL (regional and national centers; on the SRU listener). */
  oai?: string;
  /** Prometheus metrics (every node). */
  metrics?: string;
  /** The traffic dashboard (the national center). */
  dashboard?: string;
  /** The ISO 18626 XML gateway (the national center): where outside ILL systems POST. */
  iso18626?: string;
  /** The staff web application (every node), with a demo login (demo only). */
  web?: string;
  webUser?: string;
  webPassword?: string;
  /**
   * With FederationOptions.proxied: the TCP proxies other nodes reach this node through —
   * `inbound` (its advertised address: what its parent, its children's centers and peers dial)
   * and `uplink` (its `parent` setting: how it reaches its parent). `grpc` stays the node's own
   * listener, which the harness dials directly.
   */
  proxy?: { inbound: string; uplink?: string; parentGrpc?: string };
}

export interface Manifest {
  createdAt: string;
  nodes: ManifestNode[];
  /** The demo's visiting-reader credential (a reader of `home`), made on the demo's first run. */
  visitingReader?: { home: string; readerId: string; shortCode: string; token: string; qrSvg: string };
}

export interface FederationSpec {
  national: { id: string; name: string };
  regions: Array<{
    region: string;
    id: string;
    name: string;
    members: Array<{
      id: string;
      name: string;
      subjects?: string[];
      /** Extra TOML sections for the member's config (e.g. `[lending_policy]`, `[ill]`). */
      extraConfig?: string;
    }>;
  }>;
}

/**
 * Demo members answer ILL requests automatically from their items' availability and lending
 * policy (staff still ship); `lrs-member ill auto-respond off` hands them back to staff.
 */
const DEMO_LENDER = `[ill]\nauto_respond = "availability"\n`;

/** A demo member's postal address (top-level, so before any table): its shipping labels. */
const postal = (name: string, street: string, town: string) =>
  `postal_address = """\n${name}, Interlibrary Loan\n${street}\n${town}"""\n\n`;

/**
 * Demo members serve visiting readers of the whole federation in person (reciprocal borrowing);
 * the southern university charges the reader's home library 1.00 EUR a loan.
 */
const demoVisiting = (fee?: string) =>
  `\n[lending_policy.visiting]\nserves_visitors = true\nfederation = true\nmax_loans = 5\nloan_period_days = 21\n${fee ? `fee_per_loan = "${fee}"\n` : ""}`;

/** The demo's shape: one national center, two regional centers, three members each. */
export const DEMO_SPEC: FederationSpec = {
  national: { id: "national", name: "National Center for Library Resource Sharing" },
  regions: [
    {
      region: "north",
      id: "north-center",
      name: "Northern Regional Center",
      members: [
        {
          id: "north-univ",
          name: "Northern University Library",
          subjects: ["science", "engineering"],
          extraConfig:
            postal("Northern University Library", "1 College Road", "North City 10001") +
            DEMO_LENDER +
            demoVisiting(),
        },
        {
          id: "north-city",
          name: "Northern City Public Library",
          subjects: ["general"],
          extraConfig:
            postal("Northern City Public Library", "12 Market Square", "North City 10002") +
            DEMO_LENDER +
            demoVisiting(),
        },
        {
          id: "north-med",
          name: "Northern Medical College Library",
          subjects: ["medicine"],
          extraConfig:
            postal("Northern Medical College Library", "3 Hospital Lane", "North City 10003") +
            DEMO_LENDER +
            demoVisiting(),
        },
      ],
    },
    {
      region: "south",
      id: "south-center",
      name: "Southern Regional Center",
      members: [
        {
          id: "south-univ",
          name: "Southern University Library",
          subjects: ["humanities", "law"],
          extraConfig:
            postal("Southern University Library", "5 University Avenue", "South Town 20001") +
            DEMO_LENDER +
            demoVisiting("1.00 EUR"),
        },
        {
          id: "south-tech",
          name: "Southern Institute of Technology Library",
          subjects: ["engineering"],
          extraConfig:
            postal("Southern Institute of Technology Library", "80 Foundry Street", "South Town 20002") +
            DEMO_LENDER +
            demoVisiting(),
        },
        {
          id: "south-arts",
          name: "Southern Academy of Arts Library",
          subjects: ["music", "arts"],
          extraConfig:
            postal("Southern Academy of Arts Library", "9 Gallery Row", "South Town 20003") +
            DEMO_LENDER +
            demoVisiting(),
        },
      ],
    },
  ],
};

export interface FederationOptions {
  /** Where configs, data and logs live. */
  dir: string;
  /** Extra environment for every node process. */
  env?: NodeJS.ProcessEnv;
  /** Log level of the node processes. */
  logLevel?: string;
  /** Called with progress lines ("enrolled north-univ"). */
  onProgress?: (line: string) => void;
  /**
   * A directory for an offline root: the national center then signs with an intermediate under it
   * (`ca root init`, `ca intermediate request`, `ca root sign`, `ca intermediate install`) instead
   * of being the one CA (`ca init`). Its key is encrypted under NATIONAL_CA_PASSPHRASE from `env`.
   * Relative to `dir`.
   */
  offlineRoot?: string;
  /**
   * Nodes that run a previous release (mixed-version tests): `root` is a checkout of that release,
   * built (its packages/<tier>/bin/lrs-<tier>.js), and its configs get only the settings that
   * release knows (no staff web app, no ISO 18626 gateway: both came later).
   */
  previousRelease?: { root: string; nodes: string[] };
  /**
   * Puts a TCP proxy (chaos/link-proxy.ts) on every link: each node advertises a proxy in front of
   * its listener and reaches its parent through a proxy of its own, so that a link between a node
   * and its parent can be cut, slowed or reset (`linkProxies`). The proxies live in this process.
   */
  proxied?: boolean;
  /**
   * The demo's staff account (DEMO_WEB_USER, an admin with a password made per federation) on
   * every node that serves the web app; default on. Each is a `user add` (a process and an scrypt
   * hash): tests that never sign in to the web app leave it out.
   */
  webUsers?: boolean;
}

function toml(values: Record<string, string | string[] | number>): string {
  return Object.entries(values)
    .map(
      ([k, v]) =>
        `${k} = ${Array.isArray(v) ? `[${v.map((x) => JSON.stringify(x)).join(", ")}]` : JSON.stringify(v)}`,
    )
    .join("\n");
}

/**
 * A federation of real node processes on this machine, started through the
 * real enrollment flow (the same CLI commands an operator types). Used by
 * `npm start` and by the cross-node tests.
 */
export class Federation {
  readonly dir: string;
  readonly manifestPath: string;
  manifest: Manifest;
  readonly #procs = new Map<string, ChildProcess>();
  readonly #proxies = new Map<string, { inbound: LinkProxy; uplink?: LinkProxy }>();
  readonly #opts: FederationOptions;

  private constructor(opts: FederationOptions, manifest: Manifest) {
    this.#opts = opts;
    this.dir = resolve(opts.dir);
    this.manifestPath = join(this.dir, "federation.json");
    this.manifest = manifest;
  }

  static exists(dir: string): boolean {
    return existsSync(join(dir, "federation.json"));
  }

  /** Opens an existing federation (its nodes are not started). */
  static open(opts: FederationOptions): Federation {
    const manifest = JSON.parse(readFileSync(join(resolve(opts.dir), "federation.json"), "utf8")) as Manifest;
    for (const n of manifest.nodes) {
      for (const k of ["config", "dataDir", "caCert", "cert", "key", "log"] as const)
        n[k] = resolve(opts.dir, n[k]);
    }
    return new Federation(opts, manifest);
  }

  /** Creates a federation from scratch: configs, CA, enrollment of every node, and leaves it running. */
  static async create(spec: FederationSpec, opts: FederationOptions): Promise<Federation> {
    const dir = resolve(opts.dir);
    mkdirSync(join(dir, "config"), { recursive: true });
    mkdirSync(join(dir, "logs"), { recursive: true });
    const nodes: ManifestNode[] = [];
    const add = async (
      id: string,
      name: string,
      tier: TierName,
      region: string,
      parent: string | undefined,
      subjects: string[] = [],
      extraConfig = "",
    ) => {
      const port = await freePort();
      const grpc = `127.0.0.1:${port}`;
      const dataDir = join(dir, "data", id);
      const config = join(dir, "config", `${id}.toml`);
      const values: Record<string, string | string[] | number> = {
        id,
        name,
        listen: grpc,
        data_dir: dataDir,
      };
      if (region) values.region = region;
      if (parent) values.parent = parent;
      let proxy: ManifestNode["proxy"];
      if (opts.proxied) {
        proxy = { inbound: `127.0.0.1:${await freePort()}` };
        values.advertise = proxy.inbound;
        if (parent) {
          proxy.uplink = `127.0.0.1:${await freePort()}`;
          proxy.parentGrpc = parent;
          values.parent = proxy.uplink;
        }
      }
      if (subjects.length) values.subjects = subjects;
      if (tier === "national") values.federation_name = "LRS Demo Federation";
      let sru: string | undefined;
      let oai: string | undefined;
      if (tier !== "member") {
        const sruPort = await freePort();
        values.sru_listen = `127.0.0.1:${sruPort}`;
        sru = `http://127.0.0.1:${sruPort}/sru`;
        oai = `http://127.0.0.1:${sruPort}/oai`;
      }
      const metricsPort = await freePort();
      values.metrics_listen = `127.0.0.1:${metricsPort}`;
      const metrics = `http://127.0.0.1:${metricsPort}/metrics`;
      let dashboard: string | undefined;
      let iso18626: string | undefined;
      const previous = opts.previousRelease?.nodes.includes(id) ?? false;
      if (tier === "national") {
        const dashboardPort = await freePort();
        values.dashboard_listen = `127.0.0.1:${dashboardPort}`;
        dashboard = `http://127.0.0.1:${dashboardPort}/`;
        // The ISO 18626 XML gateway is on at the national center.
        if (!previous) {
          const gatewayPort = await freePort();
          iso18626 = `https://127.0.0.1:${gatewayPort}/iso18626`;
          extraConfig = `${extraConfig}\n[iso18626]\nlisten = "127.0.0.1:${gatewayPort}"\n`;
        }
      }
      let web: string | undefined;
      if (!previous) {
        const webPort = await freePort();
        values.web_listen = `127.0.0.1:${webPort}`;
        web = `http://127.0.0.1:${webPort}/`;
      }
      writeFileSync(
        config,
        `# ${name} — written by the LRS dev-env\n${toml(values)}\n${extraConfig.trim() ? `\n${extraConfig.trim()}\n` : ""}`,
      );
      const ip = identityPaths(dataDir);
      const node: ManifestNode = {
        id,
        name,
        tier,
        region,
        grpc,
        config,
        dataDir,
        caCert: ip.ca,
        cert: ip.cert,
        key: ip.key,
        log: join(dir, "logs", `${id}.log`),
        ...(sru ? { sru } : {}),
        ...(oai ? { oai } : {}),
        metrics,
        ...(dashboard ? { dashboard } : {}),
        ...(iso18626 ? { iso18626 } : {}),
        ...(web ? { web } : {}),
        ...(web && opts.webUsers !== false ? { webUser: DEMO_WEB_USER, webPassword: demoWebPassword() } : {}),
        ...(proxy ? { proxy } : {}),
      };
      nodes.push(node);
      return node;
    };
    const national = await add(spec.national.id, spec.national.name, "national", "", undefined);
    for (const r of spec.regions) {
      const rc = await add(r.id, r.name, "regional", r.region, national.grpc);
      for (const m of r.members)
        await add(m.id, m.name, "member", r.region, rc.grpc, m.subjects, m.extraConfig);
    }
    const fed = new Federation(opts, { createdAt: new Date().toISOString(), nodes });
    fed.writeManifest();
    try {
      if (opts.proxied) await fed.#startProxies();
      await fed.#enrollAll(spec, national, opts.onProgress ?? (() => {}));
    } catch (err) {
      // Never leave half a federation running.
      await fed.stopAll("SIGKILL");
      await fed.closeProxies();
      throw err;
    }
    return fed;
  }

  async #startProxies(): Promise<void> {
    for (const n of this.manifest.nodes) {
      if (!n.proxy) continue;
      const inbound = await LinkProxy.start(n.proxy.inbound, n.grpc);
      const uplink =
        n.proxy.uplink && n.proxy.parentGrpc
          ? await LinkProxy.start(n.proxy.uplink, n.proxy.parentGrpc)
          : undefined;
      this.#proxies.set(n.id, { inbound, ...(uplink ? { uplink } : {}) });
    }
  }

  /**
   * The proxies of the link between `id` and its parent (FederationOptions.proxied): what its
   * parent and peers send it, and what it sends its parent. Empty without proxies.
   */
  linkProxies(id: string): LinkProxy[] {
    const p = this.#proxies.get(id);
    return p ? [p.inbound, ...(p.uplink ? [p.uplink] : [])] : [];
  }

  /** Closes the link proxies (after stopAll). */
  async closeProxies(): Promise<void> {
    const all = [...this.#proxies.values()].flatMap((p) => [p.inbound, ...(p.uplink ? [p.uplink] : [])]);
    this.#proxies.clear();
    await Promise.all(all.map((p) => p.close()));
  }

  /** The demo's staff account (an admin) with the manifest's password, before the node starts. */
  async #addWebUser(node: ManifestNode): Promise<void> {
    if (!node.webUser || !node.webPassword) return;
    const file = join(this.dir, "config", `${node.id}.web-password`);
    writeFileSync(file, `${node.webPassword}\n`, { mode: 0o600 });
    await this.cli(node, [
      "user",
      "add",
      node.webUser,
      "--role",
      "admin",
      "--password-file",
      file,
      "--config",
      node.config,
    ]);
  }

  /**
   * The real enrollment flow, with what does not depend on each other side by side: a node's staff
   * account goes into its own database (`user add` needs neither its certificate nor its parent)
   * while its parent issues its token; regions enroll in parallel, and within a region the center
   * first, then its members together.
   */
  async #enrollAll(spec: FederationSpec, national: ManifestNode, say: (line: string) => void): Promise<void> {
    const makeCa = async () => {
      if (this.#opts.offlineRoot) {
        await this.cli(national, [
          "ca",
          "root",
          "init",
          "--out",
          resolve(this.dir, this.#opts.offlineRoot),
          "--federation-name",
          "LRS Demo Federation",
        ]);
        await this.installIntermediate(national);
        say(`created an offline root and ${national.id}'s intermediate`);
      } else {
        await this.cli(national, ["ca", "init", "--config", national.config]);
        say(`created the federation CA at ${national.id}`);
      }
    };
    await Promise.all([makeCa(), this.#addWebUser(national)]);
    await this.start(national.id);
    await Promise.all(
      spec.regions.map(async (r) => {
        const rc = this.node(r.id);
        const [token] = await Promise.all([
          this.cli(national, [
            "token",
            "create",
            "--config",
            national.config,
            "--id",
            rc.id,
            "--region",
            r.region,
          ]),
          this.#addWebUser(rc),
        ]);
        await this.#enroll(rc, token);
        say(`enrolled ${rc.id} with ${national.id}`);
        await this.start(rc.id);
        await Promise.all(
          r.members.map(async (m) => {
            const mn = this.node(m.id);
            const [t] = await Promise.all([
              this.cli(rc, ["token", "create", "--config", rc.config, "--id", mn.id]),
              this.#addWebUser(mn),
            ]);
            await this.#enroll(mn, t);
            say(`enrolled ${mn.id} with ${rc.id}`);
            await this.start(mn.id);
          }),
        );
      }),
    );
  }

  /**
   * Enrolls a node with its token. A regional center that could not reach the national center in
   * time (a loaded machine) answers "try again later" and keeps the token unused: asked again.
   */
  async #enroll(node: ManifestNode, token: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.cli(node, ["enroll", "--config", node.config, "--token", token]);
        return;
      } catch (err) {
        if (attempt >= 3 || !/try again later/.test((err as Error).message)) throw err;
        await sleep(2_000);
      }
    }
  }

  /**
   * The offline-root round trip for a new intermediate (the national center stopped): a request at
   * the national center, signed by the root in `offlineRoot`, installed. Returns the install's JSON.
   */
  async installIntermediate(
    national: ManifestNode = this.node(this.manifest.nodes.find((n) => n.tier === "national")!.id),
  ): Promise<Record<string, unknown>> {
    const root = this.#opts.offlineRoot && resolve(this.dir, this.#opts.offlineRoot);
    if (!root) throw new Error("this federation has no offline root (FederationOptions.offlineRoot)");
    const req = JSON.parse(
      await this.cli(national, ["ca", "intermediate", "request", "--config", national.config, "--json"]),
    ) as { csrPath: string };
    const certPath = join(this.dir, `intermediate-${Date.now()}.pem`);
    await this.cli(national, [
      "ca",
      "root",
      "sign",
      "--root",
      root,
      "--csr",
      req.csrPath,
      "--out",
      certPath,
      "--json",
    ]);
    return JSON.parse(
      await this.cli(national, [
        "ca",
        "intermediate",
        "install",
        "--config",
        national.config,
        "--cert",
        certPath,
        "--root",
        join(root, "root.pem"),
        "--json",
      ]),
    ) as Record<string, unknown>;
  }

  writeManifest(): void {
    const rel = (p: string) => p.replace(`${this.dir}/`, "");
    const nodes = this.manifest.nodes.map((n) => ({
      ...n,
      config: rel(n.config),
      dataDir: rel(n.dataDir),
      caCert: rel(n.caCert),
      cert: rel(n.cert),
      key: rel(n.key),
      log: rel(n.log),
    }));
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(this.manifestPath, `${JSON.stringify({ ...this.manifest, nodes }, null, 2)}\n`);
  }

  node(id: string): ManifestNode {
    const n = this.manifest.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node "${id}" in ${this.manifestPath}`);
    return n;
  }

  /** The program a node runs: this checkout's, or the previous release's (`previousRelease`). */
  program(node: ManifestNode): string {
    const prev = this.#opts.previousRelease;
    if (!prev?.nodes.includes(node.id)) return BIN[node.tier];
    return join(prev.root, relative(REPO_ROOT, BIN[node.tier]));
  }

  /** Runs a node's CLI and returns its trimmed stdout; rejects with its stderr on failure. */
  async cli(node: ManifestNode, args: string[]): Promise<string> {
    try {
      const { stdout } = await run(process.execPath, [this.program(node), ...args], {
        env: { ...process.env, ...this.#opts.env },
        // LRS_CLI_TIMEOUT_MS: more time on a machine shared by many test runs.
        timeout: Number(process.env.LRS_CLI_TIMEOUT_MS ?? 60_000),
      });
      return stdout.trim();
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`lrs-${node.tier} ${args[0]} for ${node.id} failed: ${e.stderr?.trim() || e.message}`);
    }
  }

  /**
   * Starts a node's process and waits until it answers health checks. `env` is added to this
   * start's environment only (e.g. a clock set off with libfaketime).
   */
  async start(id: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
    const node = this.node(id);
    if (this.#procs.has(id)) return;
    const port = Number(node.grpc.split(":")[1]);
    if (!(await portIsFree(port)))
      throw new Error(`port ${port} for ${id} is in use (is another copy of this federation running?)`);
    const sruPort = node.sru ? Number(new URL(node.sru).port) : 0;
    if (sruPort && !(await portIsFree(sruPort))) throw new Error(`SRU port ${sruPort} for ${id} is in use`);
    for (const [what, url] of [
      ["metrics", node.metrics],
      ["dashboard", node.dashboard],
      ["ISO 18626 gateway", node.iso18626],
      ["web", node.web],
    ] as const) {
      const p = url ? Number(new URL(url).port) : 0;
      if (p && !(await portIsFree(p))) throw new Error(`${what} port ${p} for ${id} is in use`);
    }
    const out = createWriteStream(node.log, { flags: "a" });
    // LRS_CPU_PROF_DIR: each node writes V8 CPU profiles (one per thread) into DIR/<node id> when it
    // stops (profiling a benchmark).
    const prof = process.env.LRS_CPU_PROF_DIR;
    const profArgs = prof ? ["--cpu-prof", `--cpu-prof-dir=${join(prof, id)}`] : [];
    const child = spawn(
      process.execPath,
      [...profArgs, this.program(node), "serve", "--config", node.config],
      {
        env: {
          ...process.env,
          ...this.#opts.env,
          ...env,
          [`${node.tier.toUpperCase()}_LOG_LEVEL`]: this.#opts.logLevel ?? "info",
          [`${node.tier.toUpperCase()}_LOG_PRETTY`]: "false",
          // The node stops when this process's end of its stdin closes: no node outlives a
          // killed benchmark or a test worker (see `serve` in shared/src/node/cli.ts).
          LRS_EXIT_WITH_PARENT: "1",
        },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    this.#procs.set(id, child);
    child.once("exit", () => {
      if (this.#procs.get(id) === child) this.#procs.delete(id);
    });
    // LRS_START_TIMEOUT_MS: more time on a machine shared by many test runs.
    await this.waitHealthy(id, Number(process.env.LRS_START_TIMEOUT_MS ?? 30_000), child);
  }

  /** Waits until the node answers grpc.health.v1 Check with SERVING. */
  async waitHealthy(id: string, timeoutMs = 30_000, child?: ChildProcess): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (child && child.exitCode !== null) {
        throw new Error(
          `${id} exited with code ${child.exitCode} during start-up; see ${this.node(id).log}:\n${tail(this.node(id).log)}`,
        );
      }
      try {
        if ((await this.health(id, 2000)) === "SERVING") return;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(100);
    }
    throw new Error(
      `${id} did not become healthy within ${timeoutMs} ms (${last}); see ${this.node(id).log}`,
    );
  }

  /** The node's health as it answers it, asked with the node's own certificate. */
  async health(id: string, timeoutMs = 3000): Promise<string> {
    return this.withClient(id, healthPb.Health, async (c) => {
      const res = await c.check({ service: "" }, { timeoutMs });
      return healthPb.HealthCheckResponse_ServingStatus[res.status];
    });
  }

  /** A transport to node `id`, authenticated as node `as` (default: the node itself). */
  transport(id: string, as: string = id): NodeTransport {
    const target = this.node(id);
    const caller = this.node(as);
    return createNodeTransport({
      endpoint: target.grpc,
      caPem: readFileSync(caller.caCert, "utf8"),
      certPem: readFileSync(caller.cert, "utf8"),
      keyPem: readFileSync(caller.key, "utf8"),
      expectId: target.id,
    });
  }

  async withClient<S extends DescService, T>(
    id: string,
    service: S,
    fn: (c: Client<S>) => Promise<T>,
    as?: string,
  ): Promise<T> {
    const t = this.transport(id, as);
    try {
      return await fn(createClient(service, t.transport));
    } finally {
      t.close();
    }
  }

  isRunning(id: string): boolean {
    return this.#procs.has(id);
  }

  pid(id: string): number | undefined {
    return this.#procs.get(id)?.pid;
  }

  /** Stops a node: SIGTERM (graceful) by default, or SIGKILL to simulate a crash. Resolves with the exit code. */
  async stop(id: string, signal: NodeJS.Signals = "SIGTERM", timeoutMs = 20_000): Promise<number | null> {
    const child = this.#procs.get(id);
    if (!child) return null;
    const exited = new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
      else child.once("exit", (code) => resolve(code));
    });
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    this.#procs.delete(id);
    return code;
  }

  async restart(id: string, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    await this.stop(id, signal);
    await this.start(id);
  }

  /** Starts every node that is not running, top tier first. */
  async startAll(): Promise<void> {
    const order: TierName[] = ["national", "regional", "member"];
    for (const tier of order) {
      await Promise.all(this.manifest.nodes.filter((n) => n.tier === tier).map((n) => this.start(n.id)));
    }
  }

  /** Stops every node, members first. Always safe to call. */
  async stopAll(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const order: TierName[] = ["member", "regional", "national"];
    for (const tier of order) {
      await Promise.all(
        this.manifest.nodes.filter((n) => n.tier === tier).map((n) => this.stop(n.id, signal)),
      );
    }
  }

  /**
   * Loads MARC files into a member's catalog through its own CLI (`lrs-member
   * import`), with a generated companion items CSV; the records then reach the
   * union catalogs through the real sync path. Returns the import summary.
   */
  async importCatalog(memberId: string, files: string[]): Promise<string> {
    const node = this.node(memberId);
    mkdirSync(join(this.dir, "items"), { recursive: true });
    const items = join(this.dir, "items", `${memberId}.csv`);
    await writeDemoItems(memberId, files, items);
    try {
      const { stdout } = await run(
        process.execPath,
        [this.program(node), "import", "--config", node.config, "--items", items, ...files],
        {
          env: { ...process.env, ...this.#opts.env },
          timeout: 10 * 60_000,
        },
      );
      return stdout.trim();
    } catch (err) {
      // Exit status 2: imported, with some records rejected (the sample sets have one record over ISO 2709's size limit).
      const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
      if (e.code === 2 && e.stdout) return `${e.stdout.trim()}\n${e.stderr?.trim() ?? ""}`;
      throw new Error(`lrs-member import for ${memberId} failed: ${e.stderr?.trim() || e.message}`);
    }
  }

  /** A node's status, asked with its own certificate. */
  async status(id: string): Promise<adminPb.GetStatusResponse> {
    return this.withClient(id, adminPb.AdminService, (c) => c.getStatus({}, { timeoutMs: 5000 }));
  }

  /**
   * Waits until catalog sync has settled everywhere: no node has changes its
   * parent has not acknowledged, and the national union catalog holds exactly
   * the records the running members hold.
   */
  async waitSynced(timeoutMs = 120_000): Promise<{ memberRecords: number; nationalRecords: number }> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const running = this.manifest.nodes.filter((n) => this.isRunning(n.id));
        const statuses = await Promise.all(running.map(async (n) => ({ n, st: await this.status(n.id) })));
        const lagging = statuses.filter(
          ({ st }) => (st.upstreamSync?.lag ?? 0n) > 0n || st.upstreamSync?.resyncing,
        );
        const memberRecords = statuses
          .filter(({ n }) => n.tier === "member")
          .reduce((sum, { st }) => sum + Number(st.catalog?.records ?? 0n), 0);
        const nationalRecords = Number(
          statuses.find(({ n }) => n.tier === "national")?.st.catalog?.records ?? -1n,
        );
        if (lagging.length === 0 && nationalRecords === memberRecords)
          return { memberRecords, nationalRecords };
        last = `lagging: ${lagging.map(({ n, st }) => `${n.id} (${st.upstreamSync?.lag})`).join(", ") || "none"}; national ${nationalRecords} of ${memberRecords} records`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(250);
    }
    throw new Error(`catalog sync did not settle within ${timeoutMs} ms: ${last}`);
  }

  /** Removes the federation's directory (tests). */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}
