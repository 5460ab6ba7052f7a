// Prints the schema texts the generated TypeScript stubs carry, for the test
// that all three languages give the same bytes (tests/typescript_schema.rs):
// for each contract its name, canonical text and documented text, each
// followed by a NUL (the texts hold none).

import { CALCULATOR_CONTRACT } from "./calculator.js";
import { EVERYTHING_CONTRACT } from "./everything.js";

for (const c of [EVERYTHING_CONTRACT, CALCULATOR_CONTRACT]) {
  for (const text of [c.name, c.schema ?? "", c.documented ?? ""]) process.stdout.write(`${text}\0`);
}
