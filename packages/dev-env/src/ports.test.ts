import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { freePort, portIsFree } from "./ports.js";

describe("ports for a federation", () => {
  it("are free, distinct, and outside the kernel's ephemeral range (where client sockets land)", async () => {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of ports) {
      expect(p).toBeLessThan(low);
      expect(await portIsFree(p)).toBe(true);
    }
  });
});
