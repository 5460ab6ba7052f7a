// The KeyValueStore contract in TypeScript, behaving like the Rust store in
// examples/kv/store.rs.

import { serveKeyValueStore, type Entry, type KeyValueStore, type StoreError } from "./key_value_store.js";

const CAPACITY = 1000;
const entries = new Map<string, Entry>();

function putInto(key: string, value: Uint8Array, tags: string[], ttl: number | null): { ok: bigint } | { err: StoreError } {
  const old = entries.get(key);
  if (old === undefined && entries.size >= CAPACITY) return { err: { tag: "Full", capacity: CAPACITY } };
  const version = old === undefined ? 1n : old.version + 1n;
  entries.set(key, { value, tags, ttl_seconds: ttl, version });
  return { ok: version };
}

const store: KeyValueStore = {
  put: (key, value, tags, ttl) => putInto(key, value, tags, ttl),
  get: (key) => entries.get(key) ?? null,
  delete: (key) => {
    const e = entries.get(key);
    if (e === undefined) return { err: { tag: "NotFound", value: key } };
    entries.delete(key);
    return { ok: e };
  },
  batch: (ops) => {
    const report = { written: 0, removed: 0 };
    for (const op of ops) {
      switch (op.tag) {
        case "Put": {
          const r = putInto(op.key, op.value, [], null);
          if ("err" in r) return r;
          report.written += 1;
          break;
        }
        case "Delete":
          if (!entries.delete(op.value)) return { err: { tag: "NotFound", value: op.value } };
          report.removed += 1;
          break;
        case "Clear":
          report.removed += entries.size;
          entries.clear();
          break;
      }
    }
    return { ok: report };
  },
  tag_counts: () => {
    const counts = new Map<string, bigint>();
    for (const e of entries.values()) for (const t of e.tags) counts.set(t, (counts.get(t) ?? 0n) + 1n);
    return counts;
  },
  // Rust's BTreeMap orders keys by UTF-8 bytes; so does comparing the encodings.
  keys: () => [...entries.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
};

await serveKeyValueStore(store);
