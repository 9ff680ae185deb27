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
  });

  it("allows editors and owners, not viewers", () => {
    expect(canEdit(identity(false, { "1": "viewer", "2": "editor" }))).toBe(true);
    expect(canEdit(identity(false, { "1": "owner" }))).toBe(true);
    expect(canEdit(identity(false, { "1": "viewer" }))).toBe(false);
    expect(canEdit(identity(false, {}))).toBe(false);
  });
});
