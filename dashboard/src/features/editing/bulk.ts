// One request per run for bulk edits (the API has no bulk delete), a few at a time so a
// selection of hundreds does not open hundreds of connections at once.
export const BULK_CONCURRENCY = 6;

export interface BulkOutcome<T> {
  done: T[];
  failed: { id: string; error: unknown }[];
}

export async function forEachLimited<T>(
  ids: readonly string[],
  action: (id: string) => Promise<T>,
  limit = BULK_CONCURRENCY,
): Promise<BulkOutcome<T>> {
  const outcome: BulkOutcome<T> = { done: [], failed: [] };
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      try {
        outcome.done.push(await action(id));
      } catch (error) {
        outcome.failed.push({ id, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, ids.length) }, worker));
  return outcome;
}
