export * from "./federation.js";
export * from "./ports.js";
