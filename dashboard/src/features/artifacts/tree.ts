// The run's artifact listing (flat, recursive) as a tree for the browser.
import type { ArtifactEntry } from "./api";

export interface TreeNode {
  name: string;
  path: string;
  isDir: boolean;
  size: number | null;
  children: TreeNode[];
}

/** Folders first, then files, each by name; parents made for paths listed without them. */
export function buildTree(entries: ArtifactEntry[]): TreeNode[] {
  const root: TreeNode = { name: "", path: "", isDir: true, size: null, children: [] };
  const byPath = new Map<string, TreeNode>([["", root]]);
  const folder = (path: string): TreeNode => {
    const known = byPath.get(path);
    if (known) return known;
    const cut = path.lastIndexOf("/");
    const node: TreeNode = {
      name: path.slice(cut + 1),
      path,
      isDir: true,
      size: null,
      children: [],
    };
    folder(cut < 0 ? "" : path.slice(0, cut)).children.push(node);
    byPath.set(path, node);
    return node;
  };
  for (const entry of entries) {
    if (entry.is_dir) {
      folder(entry.path);
      continue;
    }
    const cut = entry.path.lastIndexOf("/");
    const node: TreeNode = {
      name: entry.path.slice(cut + 1),
      path: entry.path,
      isDir: false,
      size: entry.size ?? null,
      children: [],
    };
    folder(cut < 0 ? "" : entry.path.slice(0, cut)).children.push(node);
    byPath.set(entry.path, node);
  }
  const sort = (nodes: TreeNode[]): TreeNode[] => {
    nodes.sort((a, b) => Number(b.isDir) - Number(a.isDir) || a.name.localeCompare(b.name));
    for (const node of nodes) sort(node.children);
    return nodes;
  };
  return sort(root.children);
}

/** The folders to show open for `path`: every ancestor of it. */
export function ancestors(path: string): string[] {
  const parts = path.split("/");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

export function formatBytes(size: number | null): string {
  if (size === null) return "";
  if (size < 1024) return `${size} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit] ?? "TiB"}`;
}
