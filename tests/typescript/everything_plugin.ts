// A TypeScript plugin serving the Everything contract (echoes).

import { serveEverything } from "./everything.js";
import { echo } from "./echo.js";

await serveEverything(echo);
