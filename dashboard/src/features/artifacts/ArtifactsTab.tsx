// The run page's Artifacts tab: the run's files as a tree, and a preview of the one chosen
// (kept in the URL as `file=`, so a preview is a link).
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { navigate, useLocation } from "../../router";
import { listAllArtifacts } from "./api";
import { FilePreview } from "./FilePreview";
import { ancestors, buildTree, formatBytes, type TreeNode } from "./tree";
import "./artifacts.css";

function TreeRows({
  nodes,
  depth,
  open,
  toggle,
  selected,
  choose,
}: {
  nodes: TreeNode[];
  depth: number;
  open: Set<string>;
  toggle: (path: string) => void;
  selected: string | null;
  choose: (path: string) => void;
}) {
  return (
    <ul className="artifact-tree" role={depth === 0 ? "tree" : "group"}>
      {nodes.map((node) => (
        <li key={node.path} role="treeitem" aria-expanded={node.isDir ? open.has(node.path) : undefined}>
          <button
            type="button"
            className={`tree-row${node.path === selected ? " selected" : ""}`}
            data-testid={node.isDir ? "tree-folder" : "tree-file"}
            data-path={node.path}
            onClick={() => (node.isDir ? toggle(node.path) : choose(node.path))}
          >
            <span className="tree-icon">{node.isDir ? (open.has(node.path) ? "▾" : "▸") : "·"}</span>
            <span className="tree-name">{node.name}</span>
            <span className="muted tree-size">{formatBytes(node.size)}</span>
          </button>
          {node.isDir && open.has(node.path) ? (
            <TreeRows
              nodes={node.children}
              depth={depth + 1}
              open={open}
              toggle={toggle}
              selected={selected}
              choose={choose}
            />
          ) : null}
        </li>
      ))}
    </ul>
  );
}

export default function ArtifactsTab({ runId, running }: { runId: string; running: boolean }) {
  const location = useLocation();
  const selected = location.search.get("file");
  const listing = useQuery({
    queryKey: ["artifacts", runId],
    queryFn: ({ signal }) => listAllArtifacts(runId, signal),
    refetchInterval: running ? 5_000 : false,
  });
  const tree = useMemo(() => buildTree(listing.data ?? []), [listing.data]);
  // A file named in the URL shows its folders open at first.
  const [open, setOpen] = useState<Set<string>>(() => new Set(selected ? ancestors(selected) : []));
  const toggle = (path: string) =>
    setOpen((old) => {
      const next = new Set(old);
      if (next.has(path)) next.delete(path);
      else next.add(path);
      return next;
    });
  const choose = (path: string) => {
    const params = new URLSearchParams(location.search);
    params.set("file", path);
    navigate(`${location.pathname}?${params.toString()}`, { replace: true });
  };
  const entry = listing.data?.find((e) => e.path === selected && !e.is_dir);

  if (listing.error) return <div className="error-banner">{listing.error.message}</div>;
  if (!listing.data) return <p className="muted">Loading artifacts…</p>;
  if (listing.data.length === 0) {
    return (
      <p className="muted" data-testid="artifacts-empty">
        No artifacts yet: log some with <code>run.log_artifact(path)</code>.
      </p>
    );
  }
  return (
    <div className="artifacts-layout" data-testid="artifacts-tab">
      <nav className="artifacts-tree-pane" aria-label="artifacts">
        <TreeRows nodes={tree} depth={0} open={open} toggle={toggle} selected={selected} choose={choose} />
      </nav>
      {entry ? (
        <FilePreview runId={runId} path={entry.path} size={entry.size ?? null} />
      ) : (
        <p className="muted">Choose a file to preview it.</p>
      )}
    </div>
  );
}
