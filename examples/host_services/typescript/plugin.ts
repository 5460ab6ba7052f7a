// The host_services example's plugin in TypeScript. It serves PageCounter,
// and calls its host back while it counts a visit: the count lives in the
// host's Store (under `visits/<page>`), and each visit is logged through the
// host's Logger. The host (a Rust program) starts it as `node dist/plugin.js`;
// run by hand it says it needs a host and exits.
//
// Build: npm ci && npm run build   (docs/TYPESCRIPT.md)

import { LoggerClient, StoreClient, host, servePageCounter, type PageCounter } from "./generated/contract.js";

// Clients of the contracts the host serves to this plugin.
const store = host(StoreClient);
const logger = host(LoggerClient);

const counter: PageCounter = {
  // Each call to the host inherits what is left of this call's deadline, and
  // is cancelled with it.
  visit: async (page) => {
    const key = `visits/${page}`;
    const stored = await store.get(key);
    const count = (stored === null ? 0n : BigInt(stored)) + 1n;
    await store.put(key, count.toString());
    await logger.log({ tag: "Info" }, `typescript counted visit ${count} of ${page}`);
    return count;
  },
};

// The hello lists the host contracts the plugin calls: a host that serves
// another version of one refuses the plugin at the start.
await servePageCounter(counter, { requires: [StoreClient, LoggerClient] });
