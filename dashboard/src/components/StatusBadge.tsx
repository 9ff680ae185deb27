import type { RunStatus } from "../api/types";

export function StatusBadge({ status }: { status: RunStatus }) {
  return <span className={`status ${status}`}>{status}</span>;
}
