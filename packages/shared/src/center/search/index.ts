export * from "./availability.js";
export { searchUnion, type UnionSearchSource } from "./union-engine.js";
export * from "./union-search-service.js";
