/** An object with a child's name exists but belongs to someone else; the operator will not take it over. */
export class ChildConflictError extends Error {
  override readonly name = "ChildConflictError";

  constructor(kind: string, namespace: string, name: string) {
    super(
      `${kind} ${namespace}/${name} already exists and is not managed by this ModelDeployment: ` +
        "delete or rename it, or give the ModelDeployment another name",
    );
  }
}
