"""Brian2 reference timing for the CUBA benchmark (Vogels & Abbott 2005).

This script is Brian2's own ``examples/CUBA.py`` network wrapped in a timing
harness. NeuroFit uses it only as an outside reference for its engine
benchmark. It needs only brian2 and numpy; it ships with the neurofit package as a
data file (``neurofit/scripts/_bench_assets/``) and nothing imports it.
``neurofit bench engine --brian2-python PATH`` runs it; to run it by hand, use a separate
Brian2 virtualenv (paths below are from a source checkout):

    python -m venv /work/brian2-venv
    /work/brian2-venv/bin/pip install "brian2==2.9.*" "numpy<2.4" cython
    B2=/work/brian2-venv/bin

    # C++ standalone (single thread, no OpenMP), 10 s of biological time, 4000 neurons
    $B2/python scripts/_bench_assets/brian2_cuba.py --device cpp_standalone --json
    # runtime mode with the cython code-generation target
    $B2/python scripts/_bench_assets/brian2_cuba.py --device runtime --json
    # scaling at a fixed mean fan-in of 80 synapses per neuron (p = 80/N)
    $B2/python scripts/_bench_assets/brian2_cuba.py --neurons 16000 --fanin-fixed --json

The script prints one JSON object. ``wall_s`` is the median over ``--repeats``
of the simulation-loop time that Brian2 itself reports (``device._last_run_time``).
That time excludes code generation, compilation, network construction
(synapse creation, initial values) and writing the results.
* Runtime device: ``Network.run`` sets ``device._last_run_time`` to the
  ``time.time()`` wall time of the Python main loop. The loop starts after
  ``before_run``, so code generation and the Cython compile are outside it.
* cpp_standalone device: the binary writes ``Network::_last_run_time`` to
  ``results/last_run_info.txt``, and ``device.run()`` reads it back into
  ``device._last_run_time``. Without OpenMP, Brian2 measures it with
  ``std::clock()``, which is process CPU time. On an idle core that equals
  wall time. As a cross-check, the script inserts ``clock_gettime(CLOCK_MONOTONIC)``
  around the network run through ``device.insert_code('before_network_run' /
  'after_network_run')`` and reports that as ``loop_monotonic_s_all``.
The standalone project is compiled once with ``device.build(run=False)``. The
binary is then executed ``1 + repeats`` times through ``device.run(...)``, with
a fresh results directory each time; the first execution is a discarded
warm-up. This is the pattern in Brian2's own ``standalone_multiplerun`` example.
The seed is compiled into the binary, so every execution simulates the same
network and the same spikes.
In runtime mode the network is built once and saved with ``Network.store()``.
A first full run is the discarded warm-up, and it compiles the Cython code into a
fresh cache directory in /tmp. Each repeat then calls ``Network.restore()`` and
runs the already compiled code again. The dynamics are deterministic once the
initial state is fixed, so the repeats produce identical spikes.
Running with the same seed in both modes gives the same network and the same spike count.
"""

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np


def build_network(b2, n_neurons, fanin_fixed):
    """CUBA exactly as in brian2/examples/CUBA.py, parameterised by N."""
    ms, mV = b2.ms, b2.mV
    taum = 20 * ms
    taue = 5 * ms
    taui = 10 * ms
    Vt = -50 * mV
    Vr = -60 * mV
    El = -49 * mV
    we = (60 * 0.27 / 10) * mV  # 1.62 mV
    wi = (-20 * 4.5 / 10) * mV  # -9 mV
    n_exc = round(0.8 * n_neurons)
    p = 80.0 / n_neurons if fanin_fixed else 0.02

    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    ns = dict(taum=taum, taue=taue, taui=taui, Vt=Vt, Vr=Vr, El=El,
              we=we, wi=wi, n_exc=n_exc)
    P = b2.NeuronGroup(n_neurons, eqs, threshold="v>Vt", reset="v = Vr",
                       refractory=5 * ms, method="exact", namespace=ns)
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = 0 * mV
    P.gi = 0 * mV
    Ce = b2.Synapses(P, P, on_pre="ge += we", namespace=ns)
    Ci = b2.Synapses(P, P, on_pre="gi += wi", namespace=ns)
    Ce.connect("i<n_exc", p=p, namespace=ns)
    Ci.connect("i>=n_exc", p=p, namespace=ns)
    s_mon = b2.SpikeMonitor(P)
    net = b2.Network(P, Ce, Ci, s_mon)
    return net, P, Ce, Ci, s_mon, p


@contextlib.contextmanager
def _stdout_to_stderr():
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


_T0 = """
struct timespec _nf_t0, _nf_t1;
clock_gettime(CLOCK_MONOTONIC, &_nf_t0);
"""
_T1 = """
clock_gettime(CLOCK_MONOTONIC, &_nf_t1);
{
    std::ofstream _nf_f((brian::results_dir + "loop_monotonic_s.txt").c_str());
    _nf_f.precision(9);
    _nf_f << ((_nf_t1.tv_sec - _nf_t0.tv_sec)
              + 1e-9 * (_nf_t1.tv_nsec - _nf_t0.tv_nsec)) << std::endl;
}
"""


def run_standalone(b2, args):
    workdir = tempfile.mkdtemp(prefix="brian2_cuba_standalone_", dir="/tmp")
    b2.set_device("cpp_standalone", build_on_run=False, directory=workdir)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0  # single thread, no OpenMP
    b2.defaultclock.dt = 0.1 * b2.ms  # after set_device (activate resets the clock)
    b2.seed(args.seed)
    net, _P, Ce, Ci, s_mon, p = build_network(b2, args.neurons, args.fanin_fixed)
    b2.device.insert_code("before_network_run", _T0)
    b2.device.insert_code("after_network_run", _T1)
    net.run(args.duration_s * b2.second, report=None)

    t0 = time.perf_counter()
    with _stdout_to_stderr():  # make/g++ echo to fd 1; keep stdout = JSON only
        b2.device.build(directory=workdir, compile=True, run=False, clean=True,
                        with_output=False)
    compile_s = time.perf_counter() - t0  # code generation + make
    make_s = b2.device.timers["compile"]

    loop, mono, binary = [], [], []
    n_synapses = spikes = None
    for k in range(1 + args.repeats):  # k == 0: warm-up, discarded
        rdir = f"results_{k}"
        t0 = time.perf_counter()
        b2.device.run(results_directory=rdir, with_output=False)
        total = time.perf_counter() - t0
        assert b2.device._last_run_completed_fraction == 1.0
        with open(os.path.join(workdir, rdir, "loop_monotonic_s.txt")) as f:
            m = float(f.read())
        if k == 0:
            n_synapses = int(len(Ce) + len(Ci))
            spikes = int(s_mon.num_spikes)
            continue
        loop.append(float(b2.device._last_run_time))
        mono.append(m)
        binary.append(total)
        assert int(s_mon.num_spikes) == spikes  # same seed -> same run
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    extra = {
        "wall_s_source": "device._last_run_time (std::clock in Network::run, "
                         "single thread)",
        "loop_monotonic_s_all": mono,
        "binary_wall_s_all": binary,
        "make_s": make_s,
        "openmp_threads": b2.prefs.devices.cpp_standalone.openmp_threads,
        "compile_args": b2.prefs.codegen.cpp.extra_compile_args_gcc,
        "project_dir": workdir if args.keep else None,
    }
    return loop, compile_s, n_synapses, spikes, p, extra


def run_runtime(b2, args):
    b2.prefs.codegen.target = "cython"
    # Use a fresh Cython cache, so compile_s is a real compile and not a cache hit
    cache = tempfile.mkdtemp(prefix="brian2_cuba_cython_", dir="/tmp")
    b2.prefs.codegen.runtime.cython.cache_dir = cache
    b2.defaultclock.dt = 0.1 * b2.ms

    # Build once; store() the initial state so every repeat restore()s it and
    # re-runs the same, already compiled code objects. (A freshly built Network
    # gets new object names, hence new code, hence a new Cython compile.)
    b2.seed(args.seed)
    t0 = time.perf_counter()
    net, _P, Ce, Ci, s_mon, p = build_network(b2, args.neurons, args.fanin_fixed)
    net.store("initial")
    n_synapses = int(len(Ce) + len(Ci))
    loop, total, cpu = [], [], []
    compile_s = spikes = None
    for k in range(1 + args.repeats):  # k == 0: warm-up (compiles), discarded
        if k > 0:
            t0 = time.perf_counter()
            net.restore("initial")
        c0 = time.process_time()
        net.run(args.duration_s * b2.second, report=None)
        t1 = time.perf_counter()
        c1 = time.process_time()
        assert b2.device._last_run_completed_fraction == 1.0
        sim = float(b2.device._last_run_time)
        if k == 0:
            # network construction (incl. compiling the synapse-creation and
            # initialisation code) + before_run (code generation and Cython
            # compilation of the run-loop code objects)
            compile_s = (t1 - t0) - sim
            spikes = int(s_mon.num_spikes)
            continue
        loop.append(sim)
        total.append(t1 - t0)
        cpu.append(c1 - c0)
        assert int(s_mon.num_spikes) == spikes  # deterministic after restore
    if not args.keep:
        shutil.rmtree(cache, ignore_errors=True)
    extra = {
        "wall_s_source": "device._last_run_time (time.time around Network.run "
                         "main loop)",
        "total_wall_s_all": total,  # restore() + before_run + loop (compiled)
        # process CPU time of net.run (before_run + loop); contention check
        "run_cpu_s_all": cpu,
        "codegen_target": "cython",
    }
    return loop, compile_s, n_synapses, spikes, p, extra


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=["cpp_standalone", "runtime"],
                    default="cpp_standalone")
    ap.add_argument("--duration-s", type=float, default=10.0)
    ap.add_argument("--neurons", type=int, default=4000)
    ap.add_argument("--fanin-fixed", action="store_true",
                    help="p = 80/N, so the mean fan-in stays at 80 (weights unchanged)")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true",
                    help="print only the JSON object on stdout")
    ap.add_argument("--keep", action="store_true",
                    help="keep the generated project and cache directories in /tmp")
    args = ap.parse_args(argv)

    import brian2 as b2

    load_start = os.getloadavg()

    b2.prefs.logging.console_log_level = "WARNING"
    b2.prefs.logging.std_redirection = False
    b2.prefs.logging.file_log = False

    if args.device == "cpp_standalone":
        loop, compile_s, nsyn, spikes, p, extra = run_standalone(b2, args)
    else:
        loop, compile_s, nsyn, spikes, p, extra = run_runtime(b2, args)

    out = {
        "simulator": "brian2",
        "version": b2.__version__,
        "device": args.device,
        "neurons": args.neurons,
        "synapses": nsyn,
        "connection_p": p,
        "fanin_fixed": bool(args.fanin_fixed),
        "duration_s": args.duration_s,
        "dt_s": float(b2.defaultclock.dt_),
        "wall_s": statistics.median(loop),
        "wall_s_all": loop,
        "compile_s": compile_s,
        "spikes": spikes,
        "mean_rate_hz": spikes / (args.neurons * args.duration_s),
        "seed": args.seed,
        "repeats": args.repeats,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }
    out.update(extra)
    # 1/5/15-min load averages, to judge contention from other work on the box
    out["loadavg_start"] = [round(x, 2) for x in load_start]
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    if not args.json:
        print(f"# CUBA N={args.neurons} device={args.device}: "
              f"median sim {out['wall_s']:.3f} s, rate {out['mean_rate_hz']:.2f} Hz",
              file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
