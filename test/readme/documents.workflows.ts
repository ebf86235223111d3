// Fixture for the README's debounce and singleton example: the workflows it dispatches.
import { Stent, Workflow } from 'nestjs-stent';

@Workflow()
export class ReindexWorkflow {
  async run(docId: string, version: number): Promise<string> {
    return `${docId}@${version}`;
  }
}

@Workflow()
export class SyncWorkflow {
  async run(tenantId: string): Promise<string> {
    await Stent.waitForSignal('done');
    return tenantId;
  }
}
