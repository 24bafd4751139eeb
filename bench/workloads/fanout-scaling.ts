// fanout_scaling: fanout_tasks at 100,000 and at 1,000,000 events. `ratio` = time at 1M / time at
// 100k; linear scaling gives 10. `tasks`/`seconds` are those of the 1M run.
import type { Workload } from "../workload.js";
import { runFanout } from "./fanout-tasks.js";

const SMALL = 100_000;
const LARGE = 1_000_000;

const workload: Workload = {
  name: "fanout_scaling",
  async run() {
    const small = await runFanout(SMALL);
    const large = await runFanout(LARGE);
    return {
      tasks: LARGE + 1,
      seconds: large,
      seconds_100k: small,
      seconds_1m: large,
      ratio: large / small,
    };
  },
};

export default workload;
