import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "@lrs/dev-env";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "lrs-demo-"));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  // If a run failed half-way, its nodes may still be up: kill them by the pids they wrote.
  for (const pid of livePids()) process.kill(pid, "SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

interface Manifest {
  nodes: Array<{
    id: string;
    tier: string;
    region: string;
    grpc: string;
    config: string;
    dataDir: string;
    caCert: string;
    cert: string;
    key: string;
    metrics?: string;
    dashboard?: string;
    oai?: string;
  }>;
  visitingReader?: { shortCode: string; token: string; qrSvg: string };
}

function manifest(): Manifest {
  return JSON.parse(readFileSync(join(dir, "federation.json"), "utf8")) as Manifest;
}

function livePids(): number[] {
  if (!existsSync(join(dir, "federation.json"))) return [];
  const pids: number[] = [];
  for (const n of manifest().nodes) {
    const rt = join(resolve(dir, n.dataDir), "node.json");
    if (!existsSync(rt)) continue;
    const pid = (JSON.parse(readFileSync(rt, "utf8")) as { pid: number }).pid;
    try {
      process.kill(pid, 0);
      pids.push(pid);
    } catch {
      // gone
    }
  }
  return pids;
}

/** Runs `npm start`'s program until it prints the node table, then Ctrl-C; returns what it printed. */
async function runDemo(): Promise<{ out: string; code: number | null; pidsWhileUp: number[] }> {
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, "packages/dev-env/dist/demo.js"), "--dir", dir, "--log-level", "warn"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.push(child);
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  // The first start creates certificates, enrolls nine nodes and loads the sample data: on a busy
  // 2-core machine (CI runs two such files at once) that has taken over a minute.
  const deadline = Date.now() + 240_000;
  while (!out.includes("Press Ctrl-C") && Date.now() < deadline && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 100));
  expect(out, out).toContain("Press Ctrl-C");
  const pidsWhileUp = livePids();
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  child.kill("SIGINT");
  const code = await exited;
  return { out, code, pidsWhileUp };
}

describe("npm start", { timeout: 600_000 }, () => {
  it("creates a 9-node demo federation, writes the manifest, and stops every process on Ctrl-C", async () => {
    const first = await runDemo();
    expect(first.out).toContain("creating a demo federation");
    expect(first.code).toBe(0);
    const m = manifest();
    expect(m.nodes).toHaveLength(9);
    expect(m.nodes.filter((n) => n.tier === "national")).toHaveLength(1);
    expect(m.nodes.filter((n) => n.tier === "regional").map((n) => n.region)).toEqual(["north", "south"]);
    expect(m.nodes.filter((n) => n.tier === "member")).toHaveLength(6);
    for (const n of m.nodes) {
      expect(n.grpc).toMatch(/^127\.0\.0\.1:\d+$/);
      for (const f of [n.config, n.caCert, n.cert, n.key]) expect(existsSync(resolve(dir, f)), f).toBe(true);
      expect(first.out).toMatch(
        new RegExp(
          `${n.id}\\s+${n.tier}\\s+${n.region || "-"}\\s+${n.grpc.replace(/\./g, "\\.")}\\s+SERVING`,
        ),
      );
    }
    expect(first.pidsWhileUp).toHaveLength(9);
    expect(livePids()).toEqual([]);
    // The traffic dashboard, printed and in the manifest; Prometheus metrics on every node.
    const national = m.nodes.find((n) => n.tier === "national")!;
    expect(national.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(first.out).toContain(`Dashboard of federated traffic: ${national.dashboard}`);
    for (const n of m.nodes) expect(n.metrics, n.id).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    // OAI-PMH at every center; north-med's catalog harvested from its (mock) ILS over OAI-PMH.
    for (const n of m.nodes.filter((x) => x.tier !== "member"))
      expect(n.oai, n.id).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oai$/);
    expect(first.out).toMatch(/harvested [1-9]\d* records and \d+ items at north-med from its ILS/);
    // A visiting-reader credential of a north-univ reader: in the manifest, as a QR code, printed.
    const v = m.visitingReader!;
    expect(v.token).toMatch(/^LRSV1\./);
    expect(readFileSync(v.qrSvg, "utf8")).toMatch(/<svg/);
    expect(first.out).toContain(`Visiting reader of north-univ: short code ${v.shortCode}`);
  });

  it("brings the same federation back on the second start", async () => {
    const before = manifest();
    const second = await runDemo();
    expect(second.out).toContain("starting the demo federation");
    expect(second.out).not.toContain("enrolled");
    expect(second.code).toBe(0);
    expect(manifest().nodes.map((n) => n.grpc)).toEqual(before.nodes.map((n) => n.grpc));
    expect((second.out.match(/SERVING/g) ?? []).length).toBe(9);
    expect(livePids()).toEqual([]);
  });
});
