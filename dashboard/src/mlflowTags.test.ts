import { describe, expect, it } from "vitest";
import { parentRunId, runDisplayName, runSource, runUser, splitTags } from "./mlflowTags";

describe("MLflow system tags", () => {
  const tags = {
    team: "vision",
    "mlflow.runName": "baseline",
    "mlflow.user": "ada",
    "mlflow.source.name": "train.py",
    "mlflow.source.git.commit": "abc123",
    "mlflow.parentRunId": "p1",
    "mlflow.note.content": "# notes",
  };

  it("sets system tags apart from user tags and leaves the note to its own section", () => {
    const { user, system } = splitTags(tags);
    expect(user).toEqual({ team: "vision" });
    expect(Object.keys(system).sort()).toEqual([
      "mlflow.parentRunId",
      "mlflow.runName",
      "mlflow.source.git.commit",
      "mlflow.source.name",
      "mlflow.user",
    ]);
  });

  it("uses the name, user and source tags for the fields they mean", () => {
    expect(runDisplayName({ id: "0123456789", name: "", tags })).toBe("baseline");
    expect(runDisplayName({ id: "0123456789", name: "own", tags })).toBe("own");
    expect(runDisplayName({ id: "0123456789", name: "", tags: {} })).toBe("01234567");
    expect(runUser({ user: "", tags })).toBe("ada");
    expect(runUser({ user: "bob", tags })).toBe("bob");
    expect(runSource({ tags })).toEqual({
      name: "train.py",
      type: null,
      commit: "abc123",
      branch: null,
      repo: null,
    });
    expect(runSource({ tags: {} })).toBeNull();
    expect(parentRunId({ tags })).toBe("p1");
    expect(parentRunId({ tags: {} })).toBeNull();
  });
});
