import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

/** TM Forum's published TMF622 v5 OpenAPI document, beside the project (../shared/specs). */
export const TMF622_SPEC = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'shared',
  'specs',
  'TMF622-ProductOrdering-v5.0.0.oas.yaml',
);

let ajv: Ajv | undefined;
const validators = new Map<string, ValidateFunction>();

/**
 * What is wrong with `body` as the TMF622 v5 document's schema `schemaName` (`CancelProductOrder`,
 * `ProductOrder`, …) defines it: one line per problem, with the JSON pointer of the field; none when it is
 * valid. The document is OpenAPI 3.0, whose schemas are JSON Schema but for two keywords: `nullable`
 * (read as "or null") and `discriminator`, which TMF puts beside `allOf` where Ajv's own support of it
 * expects `oneOf`; it names the subtypes, so it is dropped and `@type` is checked as any field.
 */
export function tmf622Problems(schemaName: string, body: unknown): string[] {
  let validate = validators.get(schemaName);
  if (!validate) {
    ajv ??= loadSpec();
    const found = ajv.getSchema(`tmf622#/components/schemas/${schemaName}`);
    if (!found) throw new Error(`the TMF622 document has no schema ${schemaName}`);
    validate = found;
    validators.set(schemaName, validate);
  }
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
}

function loadSpec(): Ajv {
  const document = parseYaml(readFileSync(TMF622_SPEC, 'utf8')) as { components: { schemas: unknown } };
  const instance = new Ajv({ strict: false, allErrors: true });
  addFormats.default(instance);
  // The one format the document uses that ajv-formats does not know (an attachment's content).
  instance.addFormat('base64', /^[A-Za-z0-9+/]*={0,2}$/);
  instance.addSchema({ $id: 'tmf622', components: { schemas: asJsonSchema(document.components.schemas) } });
  return instance;
}

/** OpenAPI 3.0 schema objects as JSON Schema: `nullable: true` becomes a type that admits null. */
function asJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(asJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const { discriminator: _dropped, nullable, ...rest } = node as Record<string, unknown>;
  const converted = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, asJsonSchema(v)]));
  if (nullable === true && typeof converted.type === 'string') converted.type = [converted.type, 'null'];
  return converted;
}

/**
 * The schema of an event's payload (its `event`), as the document names it: `<type>Payload`, but for
 * the milestone and jeopardy events, whose payloads drop the "Event".
 */
export function payloadSchemaOf(eventType: string): string {
  return eventType === 'ProductOrderMilestoneEvent' || eventType === 'ProductOrderJeopardyAlertEvent'
    ? `${eventType.replace(/Event$/, '')}Payload`
    : `${eventType}Payload`;
}
