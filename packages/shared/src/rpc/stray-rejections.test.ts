import { EventEmitter } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { handleStrayRejections, isStrayConnectionFailure } from "./stray-rejections.js";

describe("unawaited rejections at a serving node", () => {
  it("outlives a refused connection attempt and ends on anything else", () => {
    const proc = Object.assign(new EventEmitter(), { exits: [] as number[] });
    (proc as unknown as { exit: (c: number) => void }).exit = (c) => proc.exits.push(c);
    handleStrayRejections(pino({ level: "silent" }), proc as unknown as NodeJS.Process);
    proc.emit("unhandledRejection", new ConnectError("connect ECONNREFUSED 127.0.0.1:1", Code.Unavailable));
    expect(proc.exits).toEqual([]);
    proc.emit("unhandledRejection", new TypeError("x is undefined"));
    expect(proc.exits).toEqual([1]);
    proc.emit("unhandledRejection", new ConnectError("bad", Code.Internal));
    expect(proc.exits).toEqual([1, 1]);
  });

  it("counts only connection failures as stray", () => {
    expect(isStrayConnectionFailure(new ConnectError("gone", Code.Unavailable))).toBe(true);
    expect(isStrayConnectionFailure(new ConnectError("no", Code.PermissionDenied))).toBe(false);
    expect(isStrayConnectionFailure(new Error("ECONNREFUSED"))).toBe(false);
  });
});
