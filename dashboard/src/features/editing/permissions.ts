// Whether the signed-in caller may edit. The server decides per project (and answers
// 403 otherwise, which the page shows); the dashboard only hides controls that would
// surely be refused: with auth off or as an admin everything is allowed, else an
// editor or owner role in some project is needed.
import { useQuery } from "@tanstack/react-query";
import { getIdentity, type Identity } from "../../api/writes";

const EDIT_ROLES = new Set(["editor", "owner"]);

export function canEdit(identity: Identity): boolean {
  return identity.admin || Object.values(identity.projects).some((role) => EDIT_ROLES.has(role));
}

export function useCanEdit(): boolean {
  const identity = useQuery({
    queryKey: ["identity"],
    queryFn: ({ signal }) => getIdentity(signal),
    staleTime: 300_000,
    retry: false,
  });
  if (identity.data) return canEdit(identity.data);
  // Unknown (an old server, a network error): offer the controls, the API still decides.
  return identity.isError;
}
