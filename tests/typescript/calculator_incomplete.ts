// A Calculator plugin whose implementation lacks `sum` and `greet` (cast
// past the compiler, as plain JavaScript or a stale build would be): `serve`
// must refuse to start, naming them, before it says hello to the host.

import { serveCalculator, type Calculator } from "./calculator.js";
import { calculator } from "./calculator_handler.js";

const { sum: _sum, greet: _greet, ...partial } = calculator;

await serveCalculator(partial as unknown as Calculator);
