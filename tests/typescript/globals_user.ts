// A plugin file that imports the contract types named after globals and
// uses the globals themselves: `Record<K, V>`, `Map`, `Error`, `Promise`,
// `Object`. It compiles under `tsc --strict` only if the stubs did not take
// those names (a contract type exported as `interface Record` would make
// `Record<string, number>` fail with TS2315).

import {
  GlobalsClient,
  globalsService,
  type Error_,
  type Globals,
  type Map_,
  type Object_,
  type Promise_,
  type Record_,
} from "./globals.js";

const counts: Record<string, number> = { stored: 0 };
const byId = new Map<bigint, Record_>();

const impl: Globals = {
  store: async (record: Record_, promise: Promise_, _object: Object_) => {
    if (promise[1] === "") {
      const failure: Error_ = { tag: "Both", item0: promise[0], item1: "no label" };
      return { err: failure };
    }
    await Promise.resolve();
    byId.set(record.id, record);
    counts["stored"] = (counts["stored"] ?? 0) + 1;
    const copy: Map_ = { entries: new Map(Object.entries({ stored: counts["stored"] ?? 0 })) };
    return { ok: copy };
  },
};

export function check(): void {
  if (Object.keys(counts).length !== 1) throw new Error("one counter");
}

export const service = globalsService(impl);
export const client = GlobalsClient;
