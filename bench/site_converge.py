"""Benchmark playbooks/site.yml on a lab VPS: first converge, idempotent re-runs, upgrades through the matrix.

Creates its own lab VPS (tests/lab/lab.sh with LAB_NAME=chatwoot-bench, ports on 127.0.0.1 only),
converges it with the lab inventory at the oldest supported release, re-runs the converge three times
(median), times the two failing upgrades to the lab's broken release (the rehearsal refusing it, then,
forced past the rehearsal, the automatic rollback and its write freeze), then upgrades through every
stepping stone to the newest release while a probe asks GET /api through Nginx every 100 ms and counts the
seconds it did not answer 200, and reads each upgrade's write freeze from the run's output. The Chatwoot
double sleeps its boot delay (LAB_BOOT_DELAY, baked into the image) on every Rails boot, like a real Rails.
Writes its section of docs/benchmarks.md and removes the VPS.

Run from the repository root after `make lab-images`:
    .venv/bin/python bench/site_converge.py
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import ssl
import statistics
import subprocess
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from _lab import lab_env, recap_line, run_site, write_section

REPO = Path(__file__).resolve().parent.parent
SECTION = "site_converge"
DOMAIN = "chatwoot.lab.test"


def stepping_stones() -> list[str]:
    """STEPPING_STONES from plugins/module_utils/_releases.py (the one home of the release path)."""
    text = (REPO / "plugins/module_utils/_releases.py").read_text()
    newest = re.search(r'^NEWEST = "(v[0-9.]+)"', text, re.M).group(1)
    body = re.search(r"^STEPPING_STONES = \((.*?)\)", text, re.M | re.S).group(1)
    return [newest if item.strip() == "NEWEST" else item.strip().strip('"') for item in body.split(",") if item.strip()]


def boot_delay() -> str:
    """The double's baked-in LAB_BOOT_DELAY (seconds), read from the oldest stone's image."""
    images: dict[str, str] = {}
    for line in (REPO / "tests/lab/images.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            name, _sep, value = line.strip().partition("=")
            images[name] = re.sub(r"\$\{(\w+)\}", lambda match: images[match.group(1)], value)
    image = images.get("LAB_CHATWOOT_OLDEST", "")
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", image],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found = re.search(r"^LAB_BOOT_DELAY=(\S+)", out, re.M)
    return found.group(1) if found else "unknown"


def converge(env: dict, name: str, https_port: int, *extra: str, expect_failure: bool = False) -> tuple:
    """Run site.yml once; return (seconds, recap line, output), or (seconds, output) when it must fail."""
    elapsed, run = run_site(env, name, "-e", f"lab_https_port={https_port}", *extra)
    if expect_failure:
        if run.returncode == 0:
            raise SystemExit(f"converge was expected to fail:\n{run.stdout[-4000:]}")
        return elapsed, run.stdout + run.stderr
    if run.returncode != 0:
        raise SystemExit(f"converge failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    return elapsed, recap_line(run.stdout), run.stdout


def freeze_seconds(output: str) -> float | None:
    """The write freeze an upgrading converge reported (upgrade_thaw.yml), None when it ran no upgrade."""
    found = re.search(r"writes were refused \(503, Retry-After\) for ([0-9.]+) s", " ".join(output.split()))
    return float(found.group(1)) if found else None


def broken_release() -> str:
    text = (REPO / "tests/lab/images.env").read_text()
    return re.search(r"^LAB_CHATWOOT_BROKEN=\S+:(\S+)$", text, re.M).group(1)


class ApiProbe(threading.Thread):
    """GET https://DOMAIN/api through the VPS's published port every `interval` seconds."""

    def __init__(self, https_port: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.url = f"https://127.0.0.1:{https_port}/api"
        self.interval = interval
        self.samples: list[tuple[float, bool]] = []
        self.stop = threading.Event()
        self.context = ssl.create_default_context()
        # The lab's certificate is self-signed; the probe measures availability, not trust.
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE

    def run(self):
        while not self.stop.is_set():
            tick = time.monotonic()
            request = urllib.request.Request(self.url, headers={"Host": DOMAIN})
            try:
                with urllib.request.urlopen(request, timeout=2, context=self.context) as response:
                    ok = response.status == 200
            except Exception:  # any failure is downtime
                ok = False
            self.samples.append((tick, ok))
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - tick)))

    def downtime(self) -> float:
        """Seconds covered by failed samples (each sample stands for the interval up to the next one)."""
        total = 0.0
        for (tick, ok), (next_tick, _ok) in zip(self.samples, self.samples[1:], strict=False):
            if not ok:
                total += next_tick - tick
        return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="chatwoot-bench")
    parser.add_argument("--https-port", type=int, default=18443)
    parser.add_argument("--http-port", type=int, default=18080)
    parser.add_argument("--reruns", type=int, default=3)
    args = parser.parse_args()
    env = lab_env(args.name, args.https_port, args.http_port)
    lab_sh = str(REPO / "tests/lab/lab.sh")

    stones = stepping_stones()
    subprocess.run([lab_sh, "down"], env=env, check=True, capture_output=True)
    upgrades = []
    try:
        # The VPS only: the converges below are what is measured.
        subprocess.run([lab_sh, "up"], env=dict(env, LAB_SKIP_DEPLOY="1"), check=True, capture_output=True)
        load_before = os.getloadavg()
        first, first_recap, _out = converge(env, args.name, args.https_port, "-e", f"app_chatwoot_version={stones[0]}")
        reruns = [
            converge(env, args.name, args.https_port, "-e", f"app_chatwoot_version={stones[0]}")[:2]
            for _run in range(args.reruns)
        ]
        broken = broken_release()
        refused, refused_out = converge(
            env, args.name, args.https_port, "-e", f"app_chatwoot_version={broken}", expect_failure=True
        )
        if "production was not touched" not in refused_out:
            raise SystemExit(f"the rehearsal did not refuse {broken}:\n{refused_out[-3000:]}")
        rolled, rolled_out = converge(
            env,
            args.name,
            args.https_port,
            "-e",
            f"app_chatwoot_version={broken}",
            "-e",
            "app_upgrade_rehearsal=false",
            expect_failure=True,
        )
        flat = " ".join(rolled_out.split())
        rollback = re.search(r"rolled back automatically in ([0-9.]+) s", flat)
        frozen = re.search(r"writes were refused with 503 for ([0-9.]+) s", flat)
        if not rollback or not frozen:
            raise SystemExit(f"no automatic rollback of {broken}:\n{rolled_out[-3000:]}")
        failing = (broken, refused, rolled, float(rollback.group(1)), float(frozen.group(1)))
        for stone in stones[1:]:
            probe = ApiProbe(args.https_port)
            probe.start()
            time.sleep(3)  # a baseline of good answers before the upgrade starts
            seconds, recap, output = converge(env, args.name, args.https_port, "-e", f"app_chatwoot_version={stone}")
            time.sleep(3)
            probe.stop.set()
            probe.join()
            failed = sum(1 for _tick, ok in probe.samples if not ok)
            upgrades.append(
                (stone, seconds, recap, len(probe.samples), failed, probe.downtime(), freeze_seconds(output))
            )
        load_after = os.getloadavg()
    finally:
        subprocess.run([lab_sh, "down"], env=env, check=False, capture_output=True)

    rerun_times = [seconds for seconds, _recap in reruns]
    upgrade_rows = "\n".join(
        f"| upgrade to {stone} | {seconds:.1f} | `{recap}` |" for stone, seconds, recap, *_rest in upgrades
    )
    downtime_rows = "\n".join(
        f"| {stone} | {samples} | {failed} | {down:.1f} | {freeze if freeze is not None else '?'} |"
        for stone, _s, _r, samples, failed, down, freeze in upgrades
    )
    body = f"""## site.yml on a lab VPS: first converge, idempotent re-runs, upgrades through the release matrix

- Command: `.venv/bin/python bench/site_converge.py` (after `make lab-images`; creates and removes the VPS
  container `{args.name}`).
- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC
- Machine: {platform.system()} {platform.release()}, {os.cpu_count()} CPUs; the VPS is a Debian 13 container
  reached through the Docker connection (every task pays a `docker exec` round trip).
- Load averages: {" ".join(f"{x:.2f}" for x in load_before)} before, {" ".join(f"{x:.2f}" for x in load_after)} after.
- Images: built by the lab beforehand; the first converge copies the lab's image archive into the VPS and
  `docker load`s it (no registry involved).
- The Chatwoot double's boot delay: LAB_BOOT_DELAY={boot_delay()} s on every Rails boot (server, sidekiq, runner,
  db:chatwoot_prepare), standing in for a real Chatwoot boot.
- Releases: first converge at {stones[0]}, then the stepping stones {" -> ".join(stones[1:])}.

| run | seconds | recap |
|---|---:|---|
| first converge at {stones[0]} (fresh VPS: Docker, stack, Nginx, bootstrap) | {first:.1f} | `{first_recap}` |
{chr(10).join(f"| idempotent re-run {i + 1} | {s:.1f} | `{r}` |" for i, (s, r) in enumerate(reruns))}
{upgrade_rows}

- Idempotent re-run, median of {len(rerun_times)}: **{statistics.median(rerun_times):.1f} s**.
- Failing upgrades to the lab's broken release {failing[0]} (a migration that changes the schema, then dies):
  the rehearsal refuses it in {failing[1]:.1f} s (production untouched); forced past the rehearsal
  (`app_upgrade_rehearsal=false`), the production migration fails and the run ends after {failing[2]:.1f} s,
  of which the automatic rollback (restore of the rollback dump, old version serving through the switch)
  took **{failing[3]:.1f} s**; writes were refused (503) for **{failing[4]:.1f} s**.
- Successful upgrades: GET /api through Nginx every 100 ms during each upgrade converge (zero-downtime switch
  through the standby rails), and the write freeze the run reported (rollback dump + db:chatwoot_prepare):

| upgrade to | probes | not 200 | seconds without a 200 | write freeze (s) |
|---|---:|---:|---:|---:|
{downtime_rows}
"""
    write_section(SECTION, body)
    print(body)


if __name__ == "__main__":
    main()
