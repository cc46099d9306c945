export * from "./availability.js";
export * from "./union-search-service.js";
