// Saved views of an experiment's runs page (/api/v1/experiments/{id}/views). The server
// checks roles (viewers read, editors write); these only send the request.
import { request } from "./client";
import type { components } from "./schema";

type Schemas = components["schemas"];
export type SavedView = Schemas["SavedViewRead"];
/** The state as sent; the server fills what is left out with its defaults. */
export type WireViewState = Schemas["ViewState"];

const viewsPath = (experimentId: number) => `/experiments/${experimentId}/views`;

export async function listViews(experimentId: number, signal?: AbortSignal): Promise<SavedView[]> {
  const list = await request<Schemas["SavedViewList"]>("GET", viewsPath(experimentId), signal ? { signal } : {});
  return list.views;
}

export async function getView(experimentId: number, viewId: number, signal?: AbortSignal): Promise<SavedView> {
  return request<SavedView>("GET", `${viewsPath(experimentId)}/${viewId}`, signal ? { signal } : {});
}

export async function createView(experimentId: number, name: string, state: WireViewState): Promise<SavedView> {
  return request<SavedView>("POST", viewsPath(experimentId), { body: { name, state } });
}

export async function updateView(
  experimentId: number,
  viewId: number,
  change: { name?: string; state?: WireViewState },
): Promise<SavedView> {
  return request<SavedView>("PATCH", `${viewsPath(experimentId)}/${viewId}`, { body: change });
}

export async function deleteView(experimentId: number, viewId: number): Promise<void> {
  await request<undefined>("DELETE", `${viewsPath(experimentId)}/${viewId}`);
}
