import { z } from 'zod';
import { type LineAction, lineActions } from '../../statemachines/plan-definition';
import type { Problem } from './errors';
import { MAX_CHARACTERISTICS, type ProductOrderItemCreate } from './product-order';

/**
 * Product offerings and the characteristics each takes: what an order line must carry for the plan
 * that fulfils it, checked when the order arrives instead of in fallout later (docs/catalog.md#offerings).
 */

export const CHARACTERISTIC_VALUE_TYPES = [
  'string',
  'number',
  'integer',
  'boolean',
  'object',
  'array',
] as const;
export type CharacteristicValueType = (typeof CHARACTERISTIC_VALUE_TYPES)[number];

/** "an integer", "true or false": what a value type is called in messages. */
const TYPE_WORDS: Record<CharacteristicValueType, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'a JSON object',
  array: 'a JSON array',
};

/** TMF622 `@type` of a characteristic whose value is a converted scalar of this type. */
const TMF_TYPES: Partial<Record<CharacteristicValueType, string>> = {
  number: 'NumberCharacteristic',
  integer: 'IntegerCharacteristic',
  boolean: 'BooleanCharacteristic',
};

/** A string that is the JSON text of a number: what is taken for a number or an integer sent as text. */
const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

const characteristicSpecShape = z
  .object({
    name: z.string().min(1).max(200),
    description: z.string().optional(),
    valueType: z.enum(CHARACTERISTIC_VALUE_TYPES),
    /** For people and the console only (`Mbit/s`): values carry no unit. */
    unit: z.string().min(1).max(50).optional(),
    /** true: every line must carry it; a list of actions: lines with one of those actions must. */
    required: z.union([z.boolean(), z.array(z.enum(lineActions)).min(1)]).default(false),
    /** The only values accepted (strings, numbers or integers). */
    allowedValues: z
      .array(z.union([z.string(), z.number()]))
      .min(1)
      .max(1000)
      .optional(),
    /** A regular expression (JavaScript, Unicode) the whole string must match. */
    pattern: z.string().min(1).max(1000).optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    /** What a line that leaves the characteristic out gets, written into the stored line. */
    default: z.json().optional(),
  })
  .strict();

export type CharacteristicSpec = z.infer<typeof characteristicSpecShape>;

export const characteristicSpecSchema = characteristicSpecShape.superRefine((spec, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  const scalar = ['string', 'number', 'integer'].includes(spec.valueType);
  const numeric = spec.valueType === 'number' || spec.valueType === 'integer';
  let validPattern = spec.pattern;
  if (spec.pattern !== undefined) {
    if (spec.valueType !== 'string')
      issue('pattern', `only a string takes a pattern, not ${TYPE_WORDS[spec.valueType]}`);
    try {
      wholeMatch(spec.pattern);
    } catch (error) {
      validPattern = undefined;
      issue('pattern', `is not a valid regular expression: ${(error as Error).message}`);
    }
  }
  for (const bound of ['minimum', 'maximum'] as const)
    if (spec[bound] !== undefined && !numeric)
      issue(bound, `only a number or an integer takes a ${bound}, not ${TYPE_WORDS[spec.valueType]}`);
  if (spec.minimum !== undefined && spec.maximum !== undefined && spec.minimum > spec.maximum)
    issue('maximum', `is less than the minimum, ${spec.minimum}`);
  if (spec.allowedValues !== undefined && !scalar)
    issue(
      'allowedValues',
      `only a string, a number or an integer takes allowed values, not ${TYPE_WORDS[spec.valueType]}`,
    );
  // Allowed values and the default must themselves be what the declaration accepts, as given (no text for a number).
  const checkable = { ...spec, pattern: validPattern };
  spec.allowedValues?.forEach((value, i) => {
    const bare = { ...checkable, allowedValues: undefined };
    const problem = scalar ? interpretValue(bare, value, { strict: true }).problem : undefined;
    if (problem) ctx.addIssue({ code: 'custom', path: ['allowedValues', i], message: problem });
  });
  if (spec.default !== undefined) {
    if (spec.required !== false)
      issue('default', 'a required characteristic takes no default: a line always carries it');
    const problem = interpretValue(checkable, spec.default, { strict: true }).problem;
    if (problem) issue('default', problem);
  }
});

export const offeringSchema = z
  .object({
    /** The id order lines name in `productOffering.id`, and plans in `fulfils`. */
    id: z.string().min(1).max(200),
    name: z.string().min(1),
    description: z.string().optional(),
    characteristics: z.array(characteristicSpecSchema).max(MAX_CHARACTERISTICS).default([]),
  })
  .strict()
  .superRefine((offering, ctx) => {
    const seen = new Map<string, number>();
    offering.characteristics.forEach((spec, i) => {
      const first = seen.get(spec.name);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['characteristics', i, 'name'],
          message: `"${spec.name}" is also the name of characteristic ${first + 1}`,
        });
      seen.set(spec.name, i);
    });
  });

export type Offering = z.infer<typeof offeringSchema>;

export const isRequired = (spec: Pick<CharacteristicSpec, 'required'>, action: string): boolean =>
  spec.required === true || (Array.isArray(spec.required) && spec.required.includes(action as LineAction));

const wholeMatch = (pattern: string) => new RegExp(`^(?:${pattern})$`, 'u');
const patterns = new Map<string, RegExp>();

/** A value for messages: JSON, cut short. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/**
 * What a value sent for a characteristic is under its declaration: the value itself, or for a number, an
 * integer or a boolean sent as text ("100", "true"; TMF622's untyped `Characteristic` often carries
 * text) the number or boolean it spells. Anything else that is not the declared type, not an allowed
 * value, not matching the pattern or outside the bounds is a problem, said in a phrase
 * (`must be an integer (Mbit/s), not "100M"`). `strict` takes no text for a number: what the catalog
 * itself gives must already be the type.
 */
export function interpretValue(
  spec: CharacteristicSpec,
  sent: unknown,
  options: { strict?: boolean } = {},
): { value: unknown; problem?: undefined } | { value?: undefined; problem: string } {
  const unit = spec.unit ? ` (${spec.unit})` : '';
  const wrongType = { problem: `must be ${TYPE_WORDS[spec.valueType]}${unit}, not ${shown(sent)}` };
  let value = sent;
  const text = !options.strict && typeof sent === 'string' ? sent : undefined;
  switch (spec.valueType) {
    case 'string':
      if (typeof value !== 'string') return wrongType;
      break;
    case 'number':
    case 'integer':
      if (text !== undefined && JSON_NUMBER.test(text)) value = Number(text);
      if (typeof value !== 'number' || !Number.isFinite(value)) return wrongType;
      if (spec.valueType === 'integer' && !Number.isSafeInteger(value)) return wrongType;
      break;
    case 'boolean':
      if (text === 'true' || text === 'false') value = text === 'true';
      if (typeof value !== 'boolean') return wrongType;
      break;
    case 'object':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return wrongType;
      break;
    case 'array':
      if (!Array.isArray(value)) return wrongType;
      break;
  }
  if (spec.allowedValues && !spec.allowedValues.includes(value as string | number))
    return {
      problem: `must be one of ${spec.allowedValues.map(shown).join(', ')}${unit}, not ${shown(sent)}`,
    };
  if (typeof value === 'number' && spec.minimum !== undefined && value < spec.minimum)
    return { problem: `must be at least ${spec.minimum}${unit}, not ${shown(sent)}` };
  if (typeof value === 'number' && spec.maximum !== undefined && value > spec.maximum)
    return { problem: `must be at most ${spec.maximum}${unit}, not ${shown(sent)}` };
  if (typeof value === 'string' && spec.pattern !== undefined) {
    let pattern = patterns.get(spec.pattern);
    if (!pattern) {
      pattern = wholeMatch(spec.pattern);
      patterns.set(spec.pattern, pattern);
    }
    if (!pattern.test(value)) return { problem: `must match ${spec.pattern}, not ${shown(sent)}` };
  }
  return { value };
}

type Characteristic = NonNullable<
  NonNullable<ProductOrderItemCreate['product']>['productCharacteristic']
>[number];

/**
 * Holds a line's characteristics to its offering: every one declared, none twice, each value fitting its
 * declaration, every characteristic required for the line's action present. Answers every problem
 * (named by field, the message naming the line and the characteristic) and the line as it is kept:
 * values sent as text for a number or a boolean hold that number or boolean (with their `@type`, when
 * one was sent, to match), and each declared characteristic the line left out that has a default is
 * added with it — so what is stored, shown and mapped is one thing.
 */
export function checkLineCharacteristics(
  offering: Offering,
  line: ProductOrderItemCreate,
  index: number,
): { problems: Problem[]; line: ProductOrderItemCreate } {
  const problems: Problem[] = [];
  const field = `productOrderItem.${index}.product.productCharacteristic`;
  const about = (name: string) => `line "${line.id}": characteristic "${name}"`;
  const sent: Characteristic[] = line.product?.productCharacteristic ?? [];
  const specs = new Map(offering.characteristics.map((spec) => [spec.name, spec]));
  const seen = new Map<string, number>();
  let changed = false;
  const kept = sent.map((characteristic, i) => {
    const { name } = characteristic;
    const first = seen.get(name);
    seen.set(name, first ?? i);
    if (first !== undefined) {
      problems.push({
        field: `${field}.${i}.name`,
        message: `${about(name)} appears twice (first as productCharacteristic.${first})`,
      });
      return characteristic;
    }
    const spec = specs.get(name);
    if (!spec) {
      const known = offering.characteristics.map((s) => s.name).join(', ') || 'none';
      problems.push({
        field: `${field}.${i}.name`,
        message: `${about(name)} is not one offering "${offering.id}" takes (it takes: ${known})`,
      });
      return characteristic;
    }
    const read = interpretValue(spec, characteristic.value);
    if (read.problem !== undefined) {
      problems.push({ field: `${field}.${i}.value`, message: `${about(name)} ${read.problem}` });
      return characteristic;
    }
    if (read.value === characteristic.value) return characteristic;
    changed = true;
    const type = TMF_TYPES[spec.valueType];
    return {
      ...characteristic,
      value: read.value as Characteristic['value'],
      ...(characteristic['@type'] !== undefined && type ? { '@type': type } : {}),
    };
  });
  const added: Characteristic[] = [];
  for (const spec of offering.characteristics) {
    if (seen.has(spec.name)) continue;
    if (isRequired(spec, line.action)) {
      const unit = spec.unit ? ` (${spec.unit})` : '';
      problems.push({
        field,
        message: `${about(spec.name)} is required: ${TYPE_WORDS[spec.valueType]}${unit}`,
      });
    } else if (spec.default !== undefined) added.push({ name: spec.name, value: spec.default });
  }
  if (problems.length > 0 || (!changed && added.length === 0)) return { problems, line };
  return {
    problems,
    line: { ...line, product: { ...line.product, productCharacteristic: [...kept, ...added] } },
  };
}
