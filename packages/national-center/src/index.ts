export { caPaths, initCa, loadCa } from "./ca.js";
export { nationalPolicy } from "./policy.js";
export { NationalNode } from "./server.js";
