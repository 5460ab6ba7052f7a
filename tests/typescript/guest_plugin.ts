// The Guest test contract (tests/contracts/host_services.rs) in TypeScript,
// for the two-way tests: every method calls the host's HostApi while it
// serves, as the contract's doc comments say.

import { CallTimeout, HostApiClient, host, serveGuest, type Guest } from "./host_services.js";

const hostApi = host(HostApiClient);

/** What the runtime says of a failed call. */
function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const guest: Guest = {
  store_and_read: async (key, value) => {
    await hostApi.put(key, value);
    return hostApi.get(key);
  },

  bounce: async (depth) => {
    const trail = ["typescript"];
    if (depth > 0) trail.push(...(await hostApi.bounce(depth - 1)));
    return trail;
  },

  call_failing: async (how) => {
    try {
      const answer = await hostApi.withTimeout(2000).fail(how);
      return "ok" in answer ? `ok: ${answer.ok}` : `domain error: ${answer.err}`;
    } catch (e) {
      if (e instanceof CallTimeout) return `timeout: ${describe(e)}`;
      return `failed: ${describe(e)}`;
    }
  },

  wait_in_host: async (tag) => {
    await hostApi.wait(tag);
  },

  // No timeout of its own: the call inherits what is left of this handler's.
  host_time_left_ms: () => hostApi.time_left_ms(),
};

await serveGuest(guest, { requires: [HostApiClient] });
