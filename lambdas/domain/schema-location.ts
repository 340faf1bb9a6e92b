/**
 * Where Switchboard's extensions of TMF resources are defined. TMF630 asks a resource that carries
 * attributes of its own (an order's `fulfilmentAttributes`, an error's `problems`) to name the schema
 * that defines them in `@schemaLocation`: it is the API's OpenAPI document, served beside the API.
 */
export const API_DOCUMENT_PATH = '/openapi.json';

/** `@schemaLocation` of a resource shaped as the document's component `component` says. */
export const schemaLocationOf = <C extends string>(component: C): `/openapi.json#/components/schemas/${C}` =>
  `${API_DOCUMENT_PATH}#/components/schemas/${component}`;
