// Nested runs (MLflow's `mlflow.parentRunId`) as a tree over the loaded rows: each child
// right under its parent, indented, hidden while the parent is collapsed. A child whose
// parent is not among the loaded rows (another page, deleted, filtered out) stays a root.
import type { Run } from "../../api/types";
import { parentRunId } from "../../mlflowTags";

export interface TreeRow {
  run: Run;
  depth: number;
  /** Loaded children of this run. */
  childCount: number;
  expanded: boolean;
}

/**
 * Visible rows in display order: roots in the server's order, each followed by its
 * descendants (siblings in the server's order) when expanded.
 */
export function buildRunTree(runs: readonly Run[], expanded: ReadonlySet<string>): TreeRow[] {
  const byId = new Map<string, Run>();
  for (const r of runs) byId.set(r.id, r);
  const children = new Map<string, Run[]>();
  const roots: Run[] = [];
  for (const r of runs) {
    const parent = parentRunId(r);
    if (parent !== null && parent !== r.id && byId.has(parent)) {
      const list = children.get(parent);
      if (list) list.push(r);
      else children.set(parent, [r]);
    } else {
      roots.push(r);
    }
  }
  if (children.size === 0) {
    return runs.map((run) => ({ run, depth: 0, childCount: 0, expanded: false }));
  }
  const out: TreeRow[] = [];
  const placed = new Set<string>();
  // Iterative depth-first walk: deep chains cannot overflow the stack.
  const walk = (root: Run) => {
    const stack: [Run, number][] = [[root, 0]];
    while (stack.length > 0) {
      const [run, depth] = stack.pop() as [Run, number];
      if (placed.has(run.id)) continue;
      placed.add(run.id);
      const kids = children.get(run.id) ?? [];
      const open = expanded.has(run.id);
      out.push({ run, depth, childCount: kids.length, expanded: open });
      if (open) for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i] as Run, depth + 1]);
    }
  };
  for (const r of roots) walk(r);
  // Runs in a parent cycle (a → b → a) have no root: show them flat rather than lose them.
  for (const r of runs) {
    if (!placed.has(r.id) && !hasPlacedAncestor(r, byId, placed)) walk(r);
  }
  return out;
}

/** Whether a run sits under a placed (collapsed) ancestor, so it is hidden on purpose. */
function hasPlacedAncestor(run: Run, byId: Map<string, Run>, placed: Set<string>): boolean {
  const seen = new Set<string>([run.id]);
  let parent = parentRunId(run);
  while (parent !== null && !seen.has(parent)) {
    if (placed.has(parent)) return true;
    seen.add(parent);
    const next = byId.get(parent);
    parent = next ? parentRunId(next) : null;
  }
  return false;
}
