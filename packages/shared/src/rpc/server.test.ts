import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import { DirectorySchema, DirectoryService } from "../gen/lrs/v1/directory_pb.js";
import { createLogger } from "../log.js";
import { createCertificateAuthority, describeCertificate, issueCertificate } from "../tls/pki.js";
import { federation } from "./authz.js";
import { createNodeTransport } from "./client.js";
import { RpcServer } from "./server.js";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function setup(slowMs: number) {
  const ca = await createCertificateAuthority("Test");
  const identity = { id: "n1", tier: Tier.REGIONAL, region: "r" };
  const own = await issueCertificate(ca, ["localhost", "127.0.0.1"], { identity });
  const tls = {
    identity,
    keyPem: own.keyPem,
    certPem: own.certPem,
    caPem: ca.certPem,
    cert: describeCertificate(own.certPem),
  };
  const server = new RpcServer({
    listen: "127.0.0.1:0",
    tls,
    policy: {
      open: new Set(),
      rules: {
        "lrs.v1.DirectoryService/GetDirectory": federation,
        "grpc.health.v1.Health/Check": federation,
        "grpc.health.v1.Health/List": federation,
        "grpc.health.v1.Health/Watch": federation,
      },
    },
    isRevoked: () => false,
    log: createLogger("test"),
    serviceNames: ["lrs.v1.DirectoryService"],
    routes: (router) =>
      router.service(DirectoryService, {
        async getDirectory() {
          await new Promise((r) => setTimeout(r, slowMs));
          return { directory: create(DirectorySchema, { version: 7n }) };
        },
      }),
  });
  const address = await server.listen();
  cleanup.push(() => server.close(0));
  const client = await issueCertificate(ca, ["localhost"], {
    identity: { id: "m1", tier: Tier.MEMBER, region: "r" },
  });
  const connect = () => {
    const t = createNodeTransport({
      endpoint: address,
      caPem: ca.certPem,
      certPem: client.certPem,
      keyPem: client.keyPem,
      expectId: "n1",
    });
    cleanup.push(() => t.close());
    return t;
  };
  return { server, connect };
}

describe("RPC server", () => {
  it("finishes a call in flight before it stops, and refuses new connections after", async () => {
    const { server, connect } = await setup(400);
    const t = connect();
    const health = await createClient(Health, t.transport).check({ service: "lrs.v1.DirectoryService" });
    expect(health.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const call = createClient(DirectoryService, t.transport).getDirectory({});
    await new Promise((r) => setTimeout(r, 100));
    expect(server.inFlight).toBe(1);
    const closed = server.close(5000);
    const res = await call;
    expect(res.directory?.version).toBe(7n);
    await closed;
    const late = await createClient(DirectoryService, connect().transport)
      .getDirectory({}, { timeoutMs: 2000 })
      .catch((e: unknown) => ConnectError.from(e));
    expect((late as ConnectError).code).toBe(Code.Unavailable);
  });

  it("cuts calls that outlast the grace period", async () => {
    const { server, connect } = await setup(5000);
    const call = createClient(DirectoryService, connect().transport)
      .getDirectory({})
      .catch((e: unknown) => ConnectError.from(e));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await server.close(200);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await call).toBeInstanceOf(ConnectError);
  });
});

describe("RPC server policy", () => {
  it("does not start when a served method has no authorization rule", async () => {
    const ca = await createCertificateAuthority("Test");
    const identity = { id: "n1", tier: Tier.REGIONAL, region: "r" };
    const own = await issueCertificate(ca, ["localhost"], { identity });
    const tls = {
      identity,
      keyPem: own.keyPem,
      certPem: own.certPem,
      caPem: ca.certPem,
      cert: describeCertificate(own.certPem),
    };
    const make = () =>
      new RpcServer({
        listen: "127.0.0.1:0",
        tls,
        policy: { open: new Set(), rules: { "grpc.health.v1.Health/Check": federation } },
        isRevoked: () => false,
        log: createLogger("test"),
        serviceNames: [],
        routes: () => {},
      });
    expect(make).toThrow(
      "authorization policy does not match the services: grpc.health.v1.Health/List is served but has no authorization rule; grpc.health.v1.Health/Watch is served but has no authorization rule",
    );
  });
});
