// floor: no engine. A FIFO of 1,000,000 task objects, each awaited through an async handler that
// appends a record: the cost of the bare minimum a task engine does per task in this runtime.
import { check, secondsSince, type Workload } from "../workload.js";

const TASKS = 1_000_000;

interface FloorTask {
  readonly taskId: number;
  readonly routineId: string;
  readonly slotName: string;
  readonly data: Record<string, unknown>;
}

interface FloorRecord {
  readonly taskId: number;
  readonly routineId: string;
  readonly data: Record<string, unknown>;
}

const workload: Workload = {
  name: "floor",
  async run() {
    const records: FloorRecord[] = [];
    const handler = async (task: FloorTask): Promise<void> => {
      records.push({ taskId: task.taskId, routineId: task.routineId, data: task.data });
    };
    const start = performance.now();
    const fifo: (FloorTask | undefined)[] = [];
    for (let i = 0; i < TASKS; i++) fifo.push({ taskId: i, routineId: "sink", slotName: "input", data: { i } });
    let head = 0;
    while (head < fifo.length) {
      const task = fifo[head]!;
      fifo[head++] = undefined;
      await handler(task);
    }
    const seconds = secondsSince(start);
    check(records.length === TASKS, `floor appended ${records.length} records, expected ${TASKS}`);
    return { tasks: TASKS, seconds };
  },
};

export default workload;
