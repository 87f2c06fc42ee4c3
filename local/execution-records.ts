/**
 * What each execution the harness runs in-process really did: its status, output or error, and
 * its history as Step Functions records it. moto only ever reports RUNNING or ABORTED with a fixed
 * history, so whatever shows a run to a person (the Step Functions proxy, for the CLI) reads it here.
 *
 * The history holds ExecutionStarted, one `<Type>StateEntered` event per state the run entered at
 * its top level (with the state's input), and the execution's end. Like a Standard workflow's, it
 * leaves out the states of the Distributed Map's iterations (those run as child executions with
 * their own histories). Exits, Lambda and Map-run events are not recorded: nothing here reads them.
 */

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

/** One history event in GetExecutionHistory's shape (the timestamp a Date until it goes on the wire). */
export interface RecordedEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  /** Someone called StopExecution: the run stops at its next task, the record already says ABORTED. */
  stopRequested: boolean;
  events: RecordedEvent[];
}

export interface ExecutionStart {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  startDate: Date;
  roleArn?: string;
}

/** How a run ended, as local/state-machine.ts's runPipeline reports it. */
export interface ExecutionEnd {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: { name?: string; message?: string };
}

export class ExecutionRecords {
  private readonly records = new Map<string, ExecutionRecord>();

  /** Records a start once: the proxy records it when moto accepts it, the runner again when it begins. */
  begin(start: ExecutionStart): ExecutionRecord {
    const known = this.records.get(start.executionArn);
    if (known) return known;
    const record: ExecutionRecord = { ...start, status: 'RUNNING', stopRequested: false, events: [] };
    this.records.set(start.executionArn, record);
    this.add(record, 'ExecutionStarted', {
      executionStartedEventDetails: { input: start.input, inputDetails: { truncated: false }, ...(start.roleArn ? { roleArn: start.roleArn } : {}) },
    });
    return record;
  }

  get(executionArn: string): ExecutionRecord | undefined {
    return this.records.get(executionArn);
  }

  /** A state the run entered; `stateType` is its ASL Type (Task, Choice, Map...). */
  entered(executionArn: string, state: { name: string; stateType: string; input?: unknown }): void {
    const record = this.records.get(executionArn);
    if (!record || record.status !== 'RUNNING') return;
    this.add(record, `${state.stateType}StateEntered`, {
      stateEnteredEventDetails: { name: state.name, input: JSON.stringify(state.input ?? {}), inputDetails: { truncated: false } },
    });
  }

  /** The run's end; a run already stopped by StopExecution stays ABORTED. */
  end(executionArn: string, end: ExecutionEnd): void {
    const record = this.records.get(executionArn);
    if (!record || record.status !== 'RUNNING') return;
    record.status = end.status;
    record.stopDate = new Date();
    if (end.status === 'SUCCEEDED') {
      record.output = JSON.stringify(end.output ?? null);
      this.add(record, 'ExecutionSucceeded', { executionSucceededEventDetails: { output: record.output, outputDetails: { truncated: false } } });
    } else {
      record.error = end.error?.name;
      record.cause = end.error?.message;
      const key = end.status === 'FAILED' ? 'executionFailedEventDetails' : 'executionAbortedEventDetails';
      this.add(record, end.status === 'FAILED' ? 'ExecutionFailed' : 'ExecutionAborted', { [key]: { error: record.error, cause: record.cause } });
    }
  }

  /** StopExecution: ABORTED from now on, as on AWS; undefined for an execution never recorded. */
  stop(executionArn: string, error?: string, cause?: string): ExecutionRecord | undefined {
    const record = this.records.get(executionArn);
    if (!record) return undefined;
    if (record.status === 'RUNNING') {
      record.stopRequested = true;
      this.end(executionArn, { status: 'ABORTED', error: { name: error, message: cause } });
    }
    return record;
  }

  private add(record: ExecutionRecord, type: string, details: Record<string, unknown>): void {
    const id = record.events.length + 1;
    record.events.push({ id, previousEventId: id - 1, timestamp: new Date(), type, ...details });
  }
}
