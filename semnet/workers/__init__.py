"""The execution layer that runs and sweeps share: cores and thread budgets, worker
processes that die with their parent, what ``auto`` threads and workers decide
(:mod:`semnet.workers.plan`), and Ray where it is installed. Runs spread a
round's training over it (:mod:`semnet.fl.execution.parallel`), sweeps their points
(:mod:`semnet.sweep.backends`)."""

from semnet.workers.cores import CPU_BUDGET_ENV, available_cores, free_cores, thread_budget
from semnet.workers.lifecycle import die_with_parent, watch_parent
from semnet.workers.plan import AUTO, ExecutionPlan, auto_cores, plan_execution
from semnet.workers.ray_support import import_ray

__all__ = ["AUTO", "CPU_BUDGET_ENV", "ExecutionPlan", "auto_cores", "available_cores", "die_with_parent", "free_cores",
           "import_ray", "plan_execution", "thread_budget", "watch_parent"]
