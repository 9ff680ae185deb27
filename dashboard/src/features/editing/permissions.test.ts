import { describe, expect, it } from "vitest";
import { canEdit } from "./permissions";

const identity = (admin: boolean, projects: Record<string, string>) => ({
  name: "u",
  kind: "session",
  user_id: 1,
  admin,
  projects,
});

describe("edit permission", () => {
  it("allows admins and the open single-user mode", () => {
    expect(canEdit(identity(true, {}))).toBe(true);
    expect(canEdit(identity(true, {}), 7)).toBe(true);
  });

  it("allows editors and owners, not viewers, while the project is unknown", () => {
    expect(canEdit(identity(false, { "1": "viewer", "2": "editor" }))).toBe(true);
    expect(canEdit(identity(false, { "1": "owner" }))).toBe(true);
    expect(canEdit(identity(false, { "1": "viewer" }))).toBe(false);
    expect(canEdit(identity(false, {}))).toBe(false);
  });

  it("decides by the role in the thing's own project", () => {
    const mixed = identity(false, { "1": "viewer", "2": "editor" });
    expect(canEdit(mixed, 1)).toBe(false);
    expect(canEdit(mixed, 2)).toBe(true);
    expect(canEdit(mixed, 3)).toBe(false);
    expect(canEdit(mixed, null)).toBe(true);
  });
});
