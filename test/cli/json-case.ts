/**
 * CONTRIBUTING.md "CLI conventions": every `--json` names its fields in camelCase. Maps whose keys
 * are the user's (input keys, attributes, labels, params) are not field names and are not looked into.
 */
const FREE_KEYS = new Set(['inputs', 'attributes', 'labels', 'params']);

/** The paths of field names that are not camelCase (a `_` or a leading capital). */
export function notCamelCase(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => notCamelCase(v, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(/^[a-z][A-Za-z0-9]*$/.test(k) ? [] : [`${path}.${k}`]),
    ...(FREE_KEYS.has(k) ? [] : notCamelCase(v, `${path}.${k}`)),
  ]);
}
