"""bench/report on a saved results directory: bench/data/sample-results/ is
the JSON of one `bench/run --quick` (its figures are a smoke run's, noisy;
what is checked here is the report, not them). No server is started.

- every scenario, the memory table, the ratios and one verdict per target
  are printed, and summary.json holds the same verdicts;
- a ratio in summary.json is the one computed from the script's raw JSON;
- the verdict logic: the same results with sipd's CPU scaled to 0.4x
  Kamailio's everywhere meet T1 (and not before);
- an empty directory is an error (exit 1), not an empty table;
- plots are SVG when gnuplot is installed (bench/bootstrap; not needed by
  the tests).
"""
import json
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPORT = os.path.join(ROOT, "bench", "report")
SAMPLE = os.path.join(ROOT, "bench", "data", "sample-results")
TARGETS = ("T1", "T2", "T3", "T4")


def report(d, *extra):
    return subprocess.run(["/usr/bin/python3", REPORT, *extra, str(d)], capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def results(tmp_path):
    d = tmp_path / "results"
    shutil.copytree(SAMPLE, d)
    return d


def verdict_lines(out):
    return [line for line in out.splitlines()
            if line.strip().startswith(("MET ", "NOT MET ", "NOT MEASURED "))]


def test_report_prints_every_scenario_and_verdict(results):
    r = report(results)
    assert r.returncode == 0, r.stderr
    for sid in "12345":
        assert f"Scenario {sid}:" in r.stdout
    assert "Memory per binding" in r.stdout
    assert "sipd / Kamailio" in r.stdout
    lines = verdict_lines(r.stdout)
    assert [next(t for t in TARGETS if t in line) for line in lines] == list(TARGETS)
    with open(results / "summary.json") as f:
        summary = json.load(f)
    assert [v["verdict"] for v in summary["verdicts"]] == \
        [line.split(" T")[0].strip() for line in lines]
    # Every scenario ran: nothing is left unmeasured.
    assert all(v["verdict"] in ("MET", "NOT MET") for v in summary["verdicts"])
    if shutil.which("gnuplot"):
        assert len(summary["plots"]) == 7  # CPU for 5 scenarios, setup for 2
        for p in summary["plots"]:
            with open(results / p) as f:
                assert "<svg" in f.read(4096)


def test_ratio_is_the_raw_figures(results):
    assert report(results, "--no-plots").returncode == 0
    with open(results / "options.json") as f:
        raw = json.load(f)["summary"]
    with open(results / "summary.json") as f:
        rows = json.load(f)["ratios"]
    row = next(r for r in rows if r["scenario"] == "1")
    for rate, x in row["cpu_by_rate"].items():
        want = raw["sipd"][rate]["us_per_req"] / raw["kamailio"][rate]["us_per_req"]
        assert x == pytest.approx(want)


def test_cpu_verdict_follows_the_figures(results):
    """sipd at 0.4x Kamailio's CPU in every scenario and at every rate: T1 MET."""
    keys = {"options.json": "us_per_req", "register.json": "us_per_reg",
            "register-auth.json": "us_per_reg", "calls.json": "us_per_call"}
    for name, key in keys.items():
        with open(results / name) as f:
            data = json.load(f)
        parts = ([data["summary"]] if "summary" in data else
                 [p["summary"] for p in (data.get("throughput") or data["parts"]).values()])
        for summary in parts:
            for server, by_rate in summary.items():
                if server == "kamailio":
                    continue
                for rate, x in by_rate.items():
                    if rate.isdigit():
                        x[key] = 0.4 * summary["kamailio"][rate][key]
        with open(results / name, "w") as f:
            json.dump(data, f)
    r = report(results, "--no-plots")
    assert r.returncode == 0, r.stderr
    t1 = next(line for line in verdict_lines(r.stdout) if "T1" in line)
    assert t1.split()[0] == "MET", t1
    assert "worst 0.40x" in t1


def test_empty_directory_is_an_error(tmp_path):
    r = report(tmp_path, "--no-plots")
    assert r.returncode == 1
    assert "no results" in r.stderr


def load_cpu_split():
    """bench/cpu-split as a module (it has no .py suffix)."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("cpu_split",
                                                  os.path.join(ROOT, "bench", "cpu-split"))
    spec = importlib.util.spec_from_loader("cpu_split", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_cpu_split_explains_the_cpu_verdict(results):
    """bench/cpu-split's JSON (made here by its own code from a summary
    shaped like bench/options') is printed as a table, and a T1 not met
    names what limits it: sipd's kernel time alone against Kamailio's CPU."""
    cs = load_cpu_split()
    summary = {"sipd": {"10000": {"us_per_req": 7.0, "kernel_share": 0.75}},
               "kamailio": {"10000": {"us_per_req": 8.0, "kernel_share": 0.5}}}
    sc = cs.scenario("OPTIONS, answered statelessly", "request", 10000, summary, "us_per_req")
    assert sc["servers"]["sipd"]["kernel_us"] == pytest.approx(5.25)
    assert sc["servers"]["sipd"]["user_us"] == pytest.approx(1.75)
    assert sc["floor"] == pytest.approx(5.25 / 8.0)
    assert sc["user_ratio"] == pytest.approx(1.75 / 4.0)
    # A server without samples: no split, no ratios, nothing invented.
    bare = cs.scenario("x", "request", 10000, {"sipd": {"10000": {"us_per_req": 7.0}},
                                               "kamailio": summary["kamailio"]}, "us_per_req")
    assert "floor" not in bare and "kernel_us" not in bare["servers"]["sipd"]
    with open(results / "cpu-split.json", "w") as f:
        json.dump({"scenarios": [sc]}, f)
    r = report(results, "--no-plots")
    assert r.returncode == 0, r.stderr
    assert "Where the CPU goes" in r.stdout
    assert "sipd's kernel time alone = 0.66x Kamailio's whole CPU" in r.stdout
    t1 = next(line for line in verdict_lines(r.stdout) if "T1" in line)
    assert t1.split()[0] == "NOT", t1
    assert "what limits it" in t1 and "0.66x Kamailio's whole CPU" in t1 and "0.44x" in t1
    with open(results / "summary.json") as f:
        assert json.load(f)["cpu_split"]["scenarios"][0]["rate"] == 10000
