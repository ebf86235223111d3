import type { StentExecutor } from 'nestjs-stent';

/** The id of the only child execution of `parentId` (child ids are not derived from the parent's alone). */
export async function childExecutionId(executor: StentExecutor, parentId: string): Promise<string> {
  const { items } = await executor.listExecutions({ parentId });
  if (items.length !== 1) throw new Error(`execution ${parentId} has ${items.length} child executions, expected one`);
  return items[0]!.id;
}
