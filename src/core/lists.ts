/**
 * `list` with `item` appended, made on first use. A list made here starts at its exact size:
 * `[]` followed by a push reserves room for 17 items, and an activation's lists mostly hold one.
 * @internal
 */
export function appended<T>(list: T[] | undefined, item: T): T[] {
  if (list === undefined) return [item];
  list.push(item);
  return list;
}
