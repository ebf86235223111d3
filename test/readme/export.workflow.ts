// Fixture for the README's schedules example: the workflow its nightly-export schedule starts.
import { Workflow, type ScheduleTick } from 'nestjs-stent';

@Workflow()
export class ExportWorkflow {
  async run(tick: ScheduleTick, target: string): Promise<string> {
    return `${tick.tickAt} to ${target}`;
  }
}
