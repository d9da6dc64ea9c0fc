// The "New connector from OpenAPI" dialog's helpers: the operations that
// POST /connectors/import-openapi lists, grouped by tag, and the imported
// manifest's name.
import type { OpenApiOperation } from '../api/types';

const UNTAGGED = 'Other operations';

/** `name: xyz` at the top level of the imported manifest's YAML. */
export function manifestName(yaml: string): string {
  const m = /^name:\s*["']?([A-Za-z0-9_]+)["']?\s*$/m.exec(yaml);
  return m?.[1] ?? '';
}

/** Operations grouped by their first tag, in the document's order. */
export function groupByTag(ops: OpenApiOperation[]): [string, OpenApiOperation[]][] {
  const groups = new Map<string, OpenApiOperation[]>();
  for (const op of ops) {
    const tag = op.tags?.[0] ?? UNTAGGED;
    if (!groups.has(tag)) groups.set(tag, []);
    groups.get(tag)!.push(op);
  }
  return [...groups.entries()];
}
