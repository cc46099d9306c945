/**
 * Whether a lender lending `types` lends material of `format`: the same name, or every word of the
 * type in the format ("sound" and "sound recording" cover "music sound recording", "map" covers
 * "manuscript map"), so a policy can name a family of formats.
 */
export function lendsMaterial(types: readonly string[], format: string): boolean {
  if (types.length === 0 || format === "") return true;
  const words = format.toLowerCase().split(/\s+/);
  return types.some((t) => {
    const want = t.toLowerCase().trim().split(/\s+/);
    return want.every((w) => words.includes(w));
  });
}
