/**
 * Says what is wrong with a JSON file without quoting it. V8's JSON.parse message copies the text around
 * an unexpected token, and some of the files the local runtime reads (secrets.json) hold credentials.
 */
export function jsonProblem(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // These messages name the problem in V8's own words and the place by offset, with none of the text.
  const placed = /^([^"]*?) (?:in JSON )?at position (\d+)/.exec(message);
  if (placed?.[1] && placed[2]) return `${placed[1]} at ${lineAndColumn(text, Number(placed[2]))}`;
  if (message.startsWith('Unexpected end of JSON input')) return 'the JSON ends before it is complete';
  const offset = unexpectedTokenOffset(text);
  return offset === undefined ? 'not valid JSON' : `unexpected token at ${lineAndColumn(text, offset)}`;
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length} column ${(before.at(-1)?.length ?? 0) + 1}`;
}

// A string's characters are spelled as ranges from the space up: JSON allows no raw control character in one.
const SCALAR =
  /"(?:[ !#-[\]-\uffff]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

/** Where the first character is that no JSON text could have there; undefined when the text is valid JSON. */
function unexpectedTokenOffset(text: string): number | undefined {
  let at = 0;
  const skipWhitespace = () => {
    while (at < text.length && ' \t\n\r'.includes(text.charAt(at))) at++;
  };
  const take = (char: string) => {
    skipWhitespace();
    if (text[at] !== char) return false;
    at++;
    return true;
  };
  const value = (): boolean => {
    if (take('{')) return members('}', true);
    if (take('[')) return members(']', false);
    SCALAR.lastIndex = at;
    if (!SCALAR.test(text)) return false;
    at = SCALAR.lastIndex;
    return true;
  };
  const members = (close: string, named: boolean): boolean => {
    if (take(close)) return true;
    do {
      skipWhitespace();
      if (named && (text[at] !== '"' || !value() || !take(':'))) return false;
      skipWhitespace();
      if (!value()) return false;
    } while (take(','));
    return take(close);
  };
  skipWhitespace();
  const valid = value();
  skipWhitespace();
  return valid && at === text.length ? undefined : at;
}
