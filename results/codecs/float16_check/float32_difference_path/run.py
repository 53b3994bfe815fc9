"""float32 through the difference path (x + mean(y - x) instead of mean(y)): a perturbation of
about one float32 ulp per round, to size the run-to-run spread a codec's check must be judged against."""
import sys
sys.path.insert(0, "/work/wt18")
from semnet.api import load_scenario, run
from semnet.fl import federated

orig = federated.FederatedStrategy.__init__
def patched(self, *a, **k):
    orig(self, *a, **k)
    self.exact = False
federated.FederatedStrategy.__init__ = patched
sets = ["method.federated.rounds=40", "method.federated.converge=null", "method.controls=[]", "data.test_per_user=32",
        "output.eval_every_rounds=10", "simulation.threads=1", "output.checkpoints=false"]
scenario = load_scenario("/work/wt18/scenarios/quickstart.yaml", sets)
result = run(scenario, out_dir="/tmp/wt18runs/ulp")
print(result.summary["psnr_db"], [(p["name"], p["psnr_db"]) for p in result.summary["phases"]])
