// fanout_scaling: fanout_tasks at 20,000 and at 200,000 events. `ratio` = time at 200k / time at 20k;
// linear scaling gives 10. `tasks`/`seconds` are those of the 200k run.
import type { Workload } from "../workload.js";
import { runFanout } from "./fanout-tasks.js";

const SMALL = 20_000;
const LARGE = 200_000;

const workload: Workload = {
  name: "fanout_scaling",
  async run() {
    const small = await runFanout(SMALL);
    const large = await runFanout(LARGE);
    return {
      tasks: LARGE + 1,
      seconds: large,
      seconds_20k: small,
      seconds_200k: large,
      ratio: large / small,
    };
  },
};

export default workload;
