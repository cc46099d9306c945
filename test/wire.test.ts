import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { type Federation, REPO_ROOT } from "@lrs/dev-env";
import { directoryPb, healthPb } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pem, startFederation } from "./harness.js";

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  ({ fed, destroy } = await startFederation({
    national: { id: "nat", name: "Wire Test National" },
    regions: [{ region: "east", id: "east-rc", name: "East", members: [{ id: "east-a", name: "East A" }] }],
  }));
});
afterAll(async () => {
  await destroy?.();
});

type Callback<T> = (err: grpc.ServiceError | null, res: T) => void;
interface GrpcJsClient extends grpc.Client {
  Check(req: { service: string }, cb: Callback<{ status: string }>): void;
  GetDirectory(
    req: object,
    cb: Callback<{ directory: { version: string; institutions: Array<{ id: string; tier: string }> } }>,
  ): void;
  WatchDirectory(req: {
    known_version: number;
  }): grpc.ClientReadableStream<{ directory: { version: string } }>;
}

/** A client that knows nothing of our generated code: the .proto files and @grpc/grpc-js only. */
function grpcJs(
  target: string,
  as: string,
  service: "grpc.health.v1.Health" | "lrs.v1.DirectoryService",
): GrpcJsClient {
  const def = protoLoader.loadSync(["grpc/health/v1/health.proto", "lrs/v1/directory.proto"], {
    includeDirs: [join(REPO_ROOT, "proto")],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as Record<
    string,
    Record<string, Record<string, Record<string, grpc.ServiceClientConstructor>>>
  >;
  const [a, b, c] = service.split(".") as [string, string, string];
  const Ctor = (service === "grpc.health.v1.Health"
    ? pkg.grpc!.health!.v1!.Health
    : pkg[a]![b]![c]) as unknown as grpc.ServiceClientConstructor;
  const node = fed.node(as);
  const creds = grpc.credentials.createSsl(
    Buffer.from(pem(node.caCert)),
    Buffer.from(pem(node.key)),
    Buffer.from(pem(node.cert)),
  );
  return new Ctor(fed.node(target).grpc, creds) as unknown as GrpcJsClient;
}

describe("the wire is standard", () => {
  it("answers @grpc/grpc-js built from the .proto files (unary and server streaming)", async () => {
    const health = grpcJs("east-rc", "east-a", "grpc.health.v1.Health");
    const status = await new Promise<{ status: string }>((resolve, reject) =>
      health.Check({ service: "" }, (e, r) => (e ? reject(e) : resolve(r))),
    );
    expect(status.status).toBe("SERVING");
    health.close();

    const dir = grpcJs("east-rc", "east-a", "lrs.v1.DirectoryService");
    const res = await new Promise<{
      directory: { version: string; institutions: Array<{ id: string; tier: string }> };
    }>((resolve, reject) => dir.GetDirectory({}, (e, r) => (e ? reject(e) : resolve(r))));
    expect(res.directory.institutions.map((i) => i.id).sort()).toEqual(
      ["east-a", "east-rc", "nat"].filter((id) => res.directory.institutions.some((i) => i.id === id)).sort(),
    );
    expect(res.directory.institutions.find((i) => i.id === "east-rc")?.tier).toBe("TIER_REGIONAL");

    const stream = dir.WatchDirectory({ known_version: 0 });
    const first = await new Promise<{ directory: { version: string } }>((resolve, reject) => {
      stream.once("data", resolve);
      stream.once("error", reject);
    });
    expect(Number(first.directory.version)).toBeGreaterThan(0);
    stream.cancel();
    dir.close();
  });

  it("refuses @grpc/grpc-js with a member certificate at the national center (PERMISSION_DENIED)", async () => {
    const dir = grpcJs("nat", "east-a", "lrs.v1.DirectoryService");
    const err = await new Promise<grpc.ServiceError>((resolve) => dir.GetDirectory({}, (e) => resolve(e!)));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    dir.close();
  });

  it("answers gRPC-Web and Connect from the same handlers", async () => {
    const node = fed.node("east-a");
    const nodeOptions = { ca: pem(node.caCert), cert: pem(node.cert), key: pem(node.key) };
    for (const transport of [
      createGrpcWebTransport({
        baseUrl: `https://${fed.node("east-rc").grpc}`,
        httpVersion: "2",
        nodeOptions,
      }),
      createConnectTransport({
        baseUrl: `https://${fed.node("east-rc").grpc}`,
        httpVersion: "1.1",
        nodeOptions,
      }),
    ]) {
      const res = await createClient(healthPb.Health, transport).check({ service: "" });
      expect(res.status).toBe(healthPb.HealthCheckResponse_ServingStatus.SERVING);
      const d = await createClient(directoryPb.DirectoryService, transport).getDirectory({});
      expect(d.directory?.authorityId).toBe("nat");
    }
  });
});
