import time, numpy as np
from pdeflow.trajectory import snapshot_data, run_table, format_table, make_snapshots, evaluate, DisplacementInterpolation, Oracle
A = np.array([[-0.5, -2.0], [2.0, -0.5]])
def v(t, x): return x @ A.T
rng = np.random.default_rng(0)
times = np.linspace(0, 1, 6)
from scipy.linalg import expm
snaps = np.stack([(rng.normal([1.5, 0], 0.3, (200, 2))) @ expm(A * t).T for t in times])
t0=time.time()
data = snapshot_data(times, snaps, held_out=3, velocity=v)
print("build", time.time()-t0, data.truth_energy, data.params["truth_energy"]["points"], data.truth_error)
x0 = data.truth_positions[0]
exact = np.mean((A**2).sum()/2*0 + (0.25+4)*np.sum(x0**2,1)*(1-np.exp(-1.0))/(1.0))
print("exact", exact)
t0=time.time()
for m in (Oracle(), DisplacementInterpolation()):
    m.fit(data); print(type(m).__name__, evaluate(m, data))
print(time.time()-t0)
from pdeflow.plotting import trajectory_report
t0=time.time()
r = trajectory_report(data, "/tmp/trj_out", budget={"n": 0, "mioflow": {"local_epochs": 2, "global_epochs": 1}, "otcfm": {"steps": 20}})
print(r["table"]); print(time.time()-t0)
