export * from "./demo-data.js";
export * from "./federation.js";
export * from "./iso18626-mock.js";
export * from "./mock-ils.js";
export * from "./mock-ncip.js";
export * from "./ports.js";
export * from "./workload.js";
