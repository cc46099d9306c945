export * from "./availability.js";
export * from "./convert.js";
export * from "./engine-types.js";
export * from "./fan-out.js";
export * from "./union-search-service.js";
