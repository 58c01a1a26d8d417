// `node --import @strata/ts-runtime/register <entry>.ts`: how Strata's processes run their TypeScript
// sources (see hooks.mjs for why not tsx). Stack traces point at the .ts lines.
import { register } from "node:module";

process.setSourceMapsEnabled(true);
register("./hooks.mjs", import.meta.url);
