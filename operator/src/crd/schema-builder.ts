/**
 * Builds OpenAPI v3 structural schemas as a CustomResourceDefinition stores them, each carrying the
 * TypeScript type of the values it admits. The CRD manifest and the operator's types then come from one
 * definition: a field added, renamed or made required changes both, and the compiler finds every reader.
 *
 * The objects built here are plain JSON, exactly what goes into the manifest; the type rides along only
 * at compile time (`TypeOf<typeof schema>`).
 */

declare const valueType: unique symbol;

/** A schema node: the JSON the CRD holds, tagged with the type of the values it admits. */
export type Schema<T> = JsonSchema & { readonly [valueType]?: T };

export type JsonSchema = { readonly [key: string]: unknown };

/** The TypeScript type of the values a schema admits. */
export type TypeOf<S> = S extends { readonly [valueType]?: infer T } ? T : never;

/** A CEL rule (`x-kubernetes-validations`): the message is what a refused user reads. */
export interface Validation {
  rule: string;
  message: string;
}

interface Documented {
  /** Shown by `kubectl explain`: say what the field means and what to put there. */
  description?: string;
}

interface Defaulted<T> extends Documented {
  /** Filled in by the API server when the field is absent. */
  default?: T;
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type Properties = Record<string, Schema<unknown>>;

type ObjectOf<P extends Properties, R extends keyof P> = Simplify<
  { -readonly [K in R]-?: TypeOf<P[K]> } & { -readonly [K in Exclude<keyof P, R>]?: TypeOf<P[K]> }
>;

/** Keeps the keys a caller left out of the JSON, so the manifest has no `description: undefined`. */
function node<T>(fields: Record<string, unknown>): Schema<T> {
  const json: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) json[key] = value;
  return json as Schema<T>;
}

function validations(rules: readonly Validation[] | undefined): Validation[] | undefined {
  return rules && rules.length > 0 ? rules.map(({ rule, message }) => ({ rule, message })) : undefined;
}

export function string(
  options: Defaulted<string> & {
    minLength?: number;
    maxLength?: number;
    pattern?: string;
    format?: string;
  } = {},
): Schema<string> {
  const { description, default: fallback, ...constraints } = options;
  return node({ type: "string", description, ...constraints, default: fallback });
}

/** A string that must be one of `values`; typed as their union. */
export function enumOf<const V extends string>(values: readonly V[], options: Defaulted<V> = {}): Schema<V> {
  return node({
    type: "string",
    description: options.description,
    enum: [...values],
    default: options.default,
  });
}

export function integer(
  options: Defaulted<number> & { minimum?: number; maximum?: number; format?: "int32" | "int64" } = {},
): Schema<number> {
  const { description, default: fallback, ...constraints } = options;
  return node({ type: "integer", description, ...constraints, default: fallback });
}

export function number(
  options: Defaulted<number> & { minimum?: number; maximum?: number } = {},
): Schema<number> {
  const { description, default: fallback, ...constraints } = options;
  return node({ type: "number", description, ...constraints, default: fallback });
}

export function boolean(options: Defaulted<boolean> = {}): Schema<boolean> {
  return node({ type: "boolean", description: options.description, default: options.default });
}

/** A quantity such as CPU (`500m`, `2`) or memory (`16Gi`): YAML may give it as a number or a string. */
export function intOrString(options: Documented & { pattern?: string } = {}): Schema<string | number> {
  return node({
    "x-kubernetes-int-or-string": true,
    description: options.description,
    pattern: options.pattern,
  });
}

export function array<S extends Schema<unknown>>(
  items: S,
  options: Documented & {
    minItems?: number;
    maxItems?: number;
    /** `map` lists merge by key under server-side apply (each entry owned separately). */
    listType?: "atomic" | "set" | "map";
    listMapKeys?: readonly string[];
  } = {},
): Schema<Array<TypeOf<S>>> {
  return node({
    type: "array",
    description: options.description,
    "x-kubernetes-list-type": options.listType,
    "x-kubernetes-list-map-keys": options.listMapKeys ? [...options.listMapKeys] : undefined,
    minItems: options.minItems,
    maxItems: options.maxItems,
    items,
  });
}

/** An object with named fields; those in `required` must be present, the others are optional. */
export function object<P extends Properties, const R extends keyof P & string = never>(
  properties: P,
  options: Defaulted<Record<string, unknown>> & {
    required?: readonly R[];
    validations?: readonly Validation[];
  } = {},
): Schema<ObjectOf<P, R>> {
  return node({
    type: "object",
    description: options.description,
    required: options.required && options.required.length > 0 ? [...options.required] : undefined,
    "x-kubernetes-validations": validations(options.validations),
    default: options.default,
    properties,
  });
}

/**
 * An object with some known fields that keeps every other field as given: for shapes Kubernetes owns
 * (a container's env entry) whose full schema the operator passes through without checking.
 */
export function openObject<P extends Properties, const R extends keyof P & string = never>(
  properties: P,
  options: Documented & { required?: readonly R[] } = {},
): Schema<ObjectOf<P, R> & Record<string, unknown>> {
  return node({
    type: "object",
    description: options.description,
    required: options.required && options.required.length > 0 ? [...options.required] : undefined,
    "x-kubernetes-preserve-unknown-fields": true,
    properties: Object.keys(properties).length > 0 ? properties : undefined,
  });
}

/** String keys to values of one schema (a node selector). */
export function map<S extends Schema<unknown>>(
  values: S,
  options: Documented = {},
): Schema<Record<string, TypeOf<S>>> {
  return node({ type: "object", description: options.description, additionalProperties: values });
}

/** An object whose fields are a Kubernetes API type kept as given (metadata, affinity). */
export function anyObject(
  options: Documented & { preserveUnknownFields?: boolean } = {},
): Schema<Record<string, unknown>> {
  return node({
    type: "object",
    description: options.description,
    "x-kubernetes-preserve-unknown-fields": options.preserveUnknownFields ? true : undefined,
  });
}
