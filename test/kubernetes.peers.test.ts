// The Kubernetes manifests (deploy/kubernetes): every overlay rendered by kustomize (`kubectl
// kustomize`, Debian package kubernetes-client or any kubectl) and every object validated against
// the Kubernetes API's JSON schemas as the kubernetes-models package ships them; then what
// matters to an LRS node: one pod with its own volume, probes on the metrics listener, non-root
// with a read-only root file system, Service and PodDisruptionBudget selecting the pod, and a
// config that `check-config` accepts. A peers test: `npm run test:peers`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "@lrs/dev-env";
import { checkConfig, Tier } from "@lrs/shared";
import * as appsV1 from "kubernetes-models/apps/v1";
import * as policyV1 from "kubernetes-models/policy/v1";
import * as coreV1 from "kubernetes-models/v1";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";

const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  "apps/v1": appsV1,
  "policy/v1": policyV1,
};
const TIERS = { national: Tier.NATIONAL, regional: Tier.REGIONAL, member: Tier.MEMBER } as const;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: a rendered manifest, checked by the schemas first
  spec?: any;
  data?: Record<string, string>;
}

const dir = mkdtempSync(join(tmpdir(), "lrs-k8s-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function render(overlay: string): K8sObject[] {
  const out = execFileSync("kubectl", ["kustomize", join(REPO_ROOT, "deploy/kubernetes/overlays", overlay)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return parseAllDocuments(out).map((d) => d.toJSON() as K8sObject);
}

/** Validates an object against its kind's schema; returns the schema errors (none: []). */
function schemaErrors(obj: K8sObject): string[] {
  const Model = MODELS[obj.apiVersion]?.[obj.kind] as
    | (new (
        data: unknown,
      ) => { validate(): void })
    | undefined;
  if (!Model) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    return [`${obj.kind} ${obj.metadata.name}: ${(err as Error).message}`];
  }
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe.each(Object.keys(TIERS) as Array<keyof typeof TIERS>)("the %s overlay", (tier) => {
  const objects = render(tier);
  const one = (kind: string) => {
    const found = objects.filter((o) => o.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0]!;
  };

  it("renders objects that the Kubernetes schemas accept", () => {
    expect(objects.map((o) => o.kind).sort()).toEqual([
      "ConfigMap",
      "PodDisruptionBudget",
      "Service",
      "StatefulSet",
    ]);
    expect(objects.flatMap(schemaErrors)).toEqual([]);
  });

  it("the schemas are checked: a wrong type is refused", () => {
    const sts = structuredClone(one("StatefulSet"));
    sts.spec.replicas = "one";
    expect(schemaErrors(sts).join()).toMatch(/replicas/);
  });

  it("runs one non-root pod with its own volume, probes on the metrics listener, and resources", () => {
    const sts = one("StatefulSet");
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.volumeClaimTemplates.map((v: K8sObject) => v.metadata.name)).toEqual(["data"]);
    const pod = sts.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 });
    const [c] = pod.containers;
    expect(c.args).toEqual(["lrs-start", tier]);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "metrics" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "metrics" });
    expect(c.resources.requests).toHaveProperty("memory");
    expect(c.volumeMounts.find((m: { name: string }) => m.name === "data").mountPath).toBe("/var/lib/lrs");
    if (tier !== "national")
      expect(pod.volumes.find((v: { name: string }) => v.name === "enrollment").secret.secretName).toMatch(
        /-enrollment$/,
      );
    const labels = sts.spec.template.metadata.labels;
    expect(matches(sts.spec.selector.matchLabels, labels)).toBe(true);
    expect(matches(one("Service").spec.selector, labels)).toBe(true);
    expect(matches(one("PodDisruptionBudget").spec.selector.matchLabels, labels)).toBe(true);
    expect(sts.spec.serviceName).toBe(one("Service").metadata.name);
  });

  it("carries a config that check-config accepts, advertising its own Service", () => {
    const sts = one("StatefulSet");
    const cm = one("ConfigMap");
    expect(
      sts.spec.template.spec.volumes.find((v: { name: string }) => v.name === "config").configMap.name,
    ).toBe(cm.metadata.name);
    const file = join(dir, `${tier}.toml`);
    writeFileSync(file, cm.data!["node.toml"]!);
    const prefix = tier.toUpperCase();
    const res = checkConfig(TIERS[tier], file, { [`${prefix}_DATA_DIR`]: join(dir, tier) });
    expect(res.advertise).toBe(`${one("Service").metadata.name}:7400`);
    expect(res.listeners.metrics_listen).toBe("0.0.0.0:9464");
  });
});
