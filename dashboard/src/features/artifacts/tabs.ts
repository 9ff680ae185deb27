// The run page's tabs, kept in the URL (`/runs/<id>?tab=artifacts`).

export const RUN_TABS = ["overview", "artifacts", "media"] as const;
export type RunTab = (typeof RUN_TABS)[number];

export function parseRunTab(search: URLSearchParams): RunTab {
  const tab = search.get("tab");
  return (RUN_TABS as readonly string[]).includes(tab ?? "") ? (tab as RunTab) : "overview";
}

/** The query string for `tab`, other parameters kept; the overview needs no `tab`. The
 * artifact tab's file (`file=`) and the media tab's step (`step=`) belong to their tab. */
export function tabSearch(search: URLSearchParams, tab: RunTab): string {
  const params = new URLSearchParams(search);
  params.delete("file");
  params.delete("step");
  if (tab === "overview") params.delete("tab");
  else params.set("tab", tab);
  const text = params.toString();
  return text ? `?${text}` : "";
}
