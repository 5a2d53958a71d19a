// The errno code of a node:fs error ('ENOENT', 'EEXIST'...), for the hal's file code.

/** The `code` of a node system error, or undefined for anything else. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code: unknown = error.code;
  return typeof code === 'string' ? code : undefined;
}
