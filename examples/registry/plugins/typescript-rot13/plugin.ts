// A Transform plugin in TypeScript: rot13 of its text. The registry starts it
// as its manifest says (`node dist/plugin.js`, in this folder) after checking
// the sha256 of the compiled files its [checksums] lists.
//
// Build: npm ci && npm run build   (the registry example builds it when its
// sources are newer than dist/). A change here changes dist/plugin.js: update
// the manifest's [checksums] too (examples/registry/main.rs says how).

import { serveTransform, type Transform } from "./generated/transform.js";

const rot13 = (text: string): string =>
  text.replace(/[a-z]/gi, (c) => {
    const base = c <= "Z" ? 65 : 97;
    return String.fromCharCode(((c.charCodeAt(0) - base + 13) % 26) + base);
  });

const transform: Transform = {
  describe: () => "rotates letters by 13 (TypeScript)",
  apply: (text) => rot13(text),
};

await serveTransform(transform);
