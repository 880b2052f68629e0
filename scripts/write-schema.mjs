// Regenerates the published JSON Schema of scenario files from the zod schema (run by `npm run schema`).
import { writeFileSync } from 'node:fs';
import { SCENARIO_SCHEMA_FILE, scenarioSchemaText } from '../dist/scenario/schema.js';

writeFileSync(new URL(`../${SCENARIO_SCHEMA_FILE}`, import.meta.url), scenarioSchemaText());
console.log(`wrote ${SCENARIO_SCHEMA_FILE}`);
