/** A request header as one string: node:http's types allow a list, of which the first counts. */
export function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
