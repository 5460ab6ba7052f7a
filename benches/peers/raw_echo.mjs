// Raw Node `net` echo: the baseline beside goproc's TypeScript plugin.
//
// Connects to the Unix socket named by the first argument and writes back
// every chunk it reads. No framing, no decoding: the floor for a Node
// process answering over a local socket.
import net from "node:net";

const socket = net.connect(process.argv[2]);
socket.setNoDelay?.(true);
socket.on("data", (chunk) => socket.write(chunk));
socket.on("error", () => process.exit(0));
socket.on("close", () => process.exit(0));
