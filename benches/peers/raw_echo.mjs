// Raw Node `net` server: the floor beside goproc's TypeScript plugin.
//
// Connects to the Unix socket named by the first argument and answers every
// call frame (u32 LE length | u64 LE call id | bytes) with a frame of the
// same id and bytes: an RPC server minus the framework. Every frame of a
// read is parsed in one loop and all of its answers go in one write.
import net from "node:net";

const socket = net.connect(process.argv[2]);
socket.setNoDelay?.(true);
let pending = null;
socket.on("data", (chunk) => {
  const data = pending ? Buffer.concat([pending, chunk]) : chunk;
  const end = data.length;
  // First pass: find the whole frames.
  let at = 0;
  while (end - at >= 12) {
    const stop = at + 4 + data.readUInt32LE(at);
    if (stop > end) break;
    at = stop;
  }
  pending = at < end ? data.subarray(at) : null;
  if (at === 0) return;
  // Second pass: each answer, its id and bytes, into one buffer.
  const out = Buffer.allocUnsafe(at);
  for (let from = 0; from < at; ) {
    const length = data.readUInt32LE(from);
    out.writeUInt32LE(length, from);
    out.writeUInt32LE(data.readUInt32LE(from + 4), from + 4);
    out.writeUInt32LE(data.readUInt32LE(from + 8), from + 8);
    data.copy(out, from + 12, from + 12, from + 4 + length);
    from += 4 + length;
  }
  socket.write(out);
});
socket.on("error", () => process.exit(0));
socket.on("close", () => process.exit(0));
