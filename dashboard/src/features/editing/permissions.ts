// Whether the signed-in caller may edit. The server decides per project (and answers
// 403 otherwise, which the page shows); the dashboard only hides controls that would
// surely be refused: with auth off or as an admin everything is allowed, else an editor
// or owner role in the thing's project is needed (in some project, while it is unknown).
import { useQuery } from "@tanstack/react-query";
import { getIdentity, type Identity } from "../../api/writes";

const EDIT_ROLES = new Set(["editor", "owner"]);

export function canEdit(identity: Identity, projectId?: number | null): boolean {
  if (identity.admin) return true;
  if (projectId === undefined || projectId === null) {
    return Object.values(identity.projects).some((role) => EDIT_ROLES.has(role));
  }
  return EDIT_ROLES.has(identity.projects[String(projectId)] ?? "");
}

/** The permission check for things of several projects (one list of experiments). */
export function useEditPermission(): (projectId?: number | null) => boolean {
  const identity = useQuery({
    queryKey: ["identity"],
    queryFn: ({ signal }) => getIdentity(signal),
    staleTime: 300_000,
    retry: false,
  });
  const known = identity.data;
  if (known) return (projectId) => canEdit(known, projectId);
  // Unknown (an old server, a network error): offer the controls, the API still decides.
  const offered = identity.isError;
  return () => offered;
}

/** Whether the caller may edit things of `projectId` (undefined while it is loading). */
export function useCanEdit(projectId?: number | null): boolean {
  return useEditPermission()(projectId);
}
