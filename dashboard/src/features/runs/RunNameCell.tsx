// The runs table's name cell: indented under its parent run, with a toggle that shows
// or hides its nested runs. The tree comes through context so the memoised rows and
// stable column definitions need not change when a branch opens.
import { createContext, useContext } from "react";
import type { Run } from "../../api/types";
import { runDisplayName } from "../../mlflowTags";
import { Link } from "../../router";
import type { TreeRow } from "./runTree";

export interface RunTree {
  rows: ReadonlyMap<string, TreeRow>;
  toggle: (runId: string) => void;
}

export const RunTreeContext = createContext<RunTree>({ rows: new Map(), toggle: () => undefined });

const INDENT_PX = 16;

export function RunNameCell({ run }: { run: Run }) {
  const tree = useContext(RunTreeContext);
  const node = tree.rows.get(run.id);
  const depth = node?.depth ?? 0;
  const name = runDisplayName(run);
  return (
    <span className="run-name" style={{ paddingLeft: depth * INDENT_PX }}>
      {node && node.childCount > 0 ? (
        <button
          type="button"
          className="tree-toggle"
          aria-expanded={node.expanded}
          aria-label={`${node.expanded ? "Hide" : "Show"} ${node.childCount} nested runs of ${name}`}
          onClick={() => tree.toggle(run.id)}
        >
          {node.expanded ? "▾" : "▸"}
        </button>
      ) : depth > 0 ? (
        <span className="tree-leaf">└</span>
      ) : null}
      <Link to={`/runs/${encodeURIComponent(run.id)}`} title={run.id}>
        {name}
      </Link>
      {node && node.childCount > 0 ? <span className="muted"> ({node.childCount})</span> : null}
    </span>
  );
}
