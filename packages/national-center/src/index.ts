export { initCa, loadCa, caPaths } from "./ca.js";
export { NationalNode } from "./server.js";
export { nationalPolicy } from "./policy.js";
