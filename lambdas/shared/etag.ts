/**
 * Entity tags of configuration records: a system's or an interface's revision (the counter its record
 * keeps, raised by every change of its configuration) as `"r<revision>"`, and `If-Match` read against it.
 */

/** The strong entity tag of a revision: `"r7"`. */
export const etagOf = (revision: number): string => `"r${revision}"`;

/** What an `If-Match` header asks for: any current record (`*`), or one of these entity tags. */
export type IfMatch = { any: true } | { any: false; tags: string[] };

/**
 * Reads an `If-Match` header (RFC 9110 §13.1.1): `*`, or entity tags separated by commas. A weak tag
 * (`W/"r7"`) is read as its tag: CloudFront turns the strong tags of the answers it compresses into
 * weak ones, so a client behind it only ever has the weak form of a tag the API gave as strong. A tag
 * without its quotes (`r7`, as a hurried `curl -H` sends it) is read as that tag. Undefined for no header.
 */
export function parseIfMatch(header: string | undefined): IfMatch | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  if (header.trim() === '*') return { any: true };
  const tags = header
    .split(',')
    .map((tag) =>
      tag
        .trim()
        .replace(/^W\//, '')
        .replace(/^"(.*)"$/, '$1'),
    )
    .filter((tag) => tag.length > 0);
  return { any: false, tags };
}

/** True when the header lets a change of the record at this revision go ahead. */
export function ifMatchHolds(ifMatch: IfMatch, revision: number): boolean {
  return ifMatch.any || ifMatch.tags.includes(`r${revision}`);
}
