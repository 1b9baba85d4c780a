/** A Redis hash of JSON values (HGETALL's reply) as the parsed values, in the hash's order. */
export const parseAll = <T>(hash: Record<string, string>): T[] =>
  Object.values(hash).map((raw) => JSON.parse(raw) as T);
