"""Two dashboard replicas behind Debian's nginx, configured from deploy/nginx.conf.

The test writes its own copy of deploy/nginx.conf (the two replicas' loopback ports between
the `pcviz:replicas` markers, a free port on the `pcviz:listen` line, logs and temporary files
in a temporary folder), starts nginx and two `streamlit run app.py` replicas that share one
run store and one compilation cache, and checks everything through nginx only: the health
check; that a browser keeps one replica for its whole life (nginx's `pcviz_route` cookie;
nginx names the replica that answered in `X-Pcviz-Upstream` and in its access log) while
fresh browsers reach both; that the live lab trains over the proxied websocket; and that a run
trained through the proxy lands in the shared store.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest
from _browser import (
    ROOT,
    VIEWPORT,
    WAIT_MS,
    HealthProbe,
    descendants,
    end_processes,
    free_port,
    no_exception,
    open_lab,
    press,
    require_chromium,
    step_count,
    wait_until,
)

pytestmark = [pytest.mark.needs_nginx, pytest.mark.needs_chromium, pytest.mark.slow]

NGINX = Path("/usr/sbin/nginx")
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
START_SECONDS = 90
"""Both replicas answering their health check (two servers starting on two shared cores)."""
ROUTE = re.compile(r"^[0-9a-f]{32}$")
FRESH_VISITORS = 16
"""At most this many fresh browsers to see both replicas get visitors (each picks one at
random: all 16 on one replica has a chance of 1 in 32,768)."""


class Proxy(NamedTuple):
    url: str
    replicas: tuple[str, ...]
    """`host:port` of each replica, as nginx reports them in `X-Pcviz-Upstream`."""
    store: Path
    folder: Path


def require_nginx() -> None:
    """Skip (fail in CI, see conftest.py) without Debian's nginx."""
    if not NGINX.exists():
        pytest.skip("needs Debian's nginx: apt-get install nginx")


def render_nginx_conf(template: str, replicas: tuple[str, ...], port: int,
                      folder: Path) -> str:
    """deploy/nginx.conf with these `replicas`, listening on 127.0.0.1:`port`, its access log
    and temporary files in `folder`."""

    def replace(pattern: str, new: str, text: str) -> str:
        text, count = re.subn(pattern, lambda _: new, text, flags=re.MULTILINE | re.DOTALL)
        assert count == 1, f"deploy/nginx.conf: expected one match of {pattern!r}"
        return text

    servers = "".join(f"        server {r} max_fails=3 fail_timeout=10s;\n" for r in replicas)
    text = replace(r"(?<=# pcviz:replicas begin)[^\n]*\n.*?(?=^\s*# pcviz:replicas end)",
                   "\n" + servers, template)
    text = replace(r"^[ \t]*listen [^;]*;[ \t]*# pcviz:listen$",
                   f"        listen 127.0.0.1:{port};", text)
    text = replace(r"^[ \t]*access_log [^;]*;[ \t]*# pcviz:access-log$",
                   f"    access_log {folder / 'access.log'} pcviz;", text)
    temp = "".join(f"    {kind}_temp_path {folder / 'temp' / kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return replace(r"^http \{\n", "http {\n" + temp, text)


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"({path.name}: not written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def explain_failure(folder: Path) -> Iterator[None]:
    """On an exception, print nginx's error log, its access log and each replica's output."""
    try:
        yield
    except BaseException:
        for name in ("nginx-error.log", "access.log", "replica-0.log", "replica-1.log"):
            print(f"\n--- {name}, last lines:\n{tail(folder / name)}")
        raise


@contextmanager
def started(command: list[str], log: Path, env: dict[str, str] | None = None,
            cwd: Path = ROOT) -> Iterator[subprocess.Popen]:
    """Run `command` in a process group of its own, output to `log`; always stop the group."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            spawned = descendants(proc.pid)  # a replica's Ray cluster: see `serve`
            for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            end_processes(spawned)


def status_of(url: str, timeout: float = 2) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.status
    except OSError:
        return None


def wait_for(what: str, ready, procs: list[subprocess.Popen], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[:4]} exited with status {proc.returncode} "
                                   f"while waiting for {what}")
        if ready():
            return
        time.sleep(0.3)
    raise TimeoutError(f"gave up after {seconds} s waiting for {what}")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory) -> Iterator[Proxy]:
    require_nginx()
    require_chromium()
    folder = tmp_path_factory.mktemp("proxy")
    store = folder / "runs.sqlite"
    env = dict(os.environ, PCVIZ_STORE=str(store), PCVIZ_JAX_CACHE=str(folder / "jax"),
               PCVIZ_WORKERS="1", PCVIZ_WARM_PRESETS="0")
    env.pop("RAY_ADDRESS", None)  # each replica runs on its own machine's cores
    ports = [free_port(), free_port()]
    listen = free_port()
    replicas = tuple(f"127.0.0.1:{p}" for p in ports)
    (folder / "temp").mkdir()
    conf = folder / "nginx.conf"
    conf.write_text(render_nginx_conf(NGINX_CONF.read_text(), replicas, listen, folder))
    error_log = folder / "nginx-error.log"
    with ExitStack() as stack, explain_failure(folder):
        procs = [stack.enter_context(started(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true", "--server.address", "127.0.0.1"],
            folder / f"replica-{number}.log", env)) for number, port in enumerate(ports)]
        procs.append(stack.enter_context(started(
            [str(NGINX), "-p", str(folder), "-c", str(conf), "-e", str(error_log),
             "-g", f"daemon off; pid {folder / 'nginx.pid'}; error_log {error_log} notice;"],
            folder / "nginx.out", cwd=folder)))
        for replica in replicas:  # readiness only; every check below goes through nginx
            wait_for(f"the replica on {replica}",
                     lambda r=replica: status_of(f"http://{r}/_stcore/health") == 200,
                     procs, START_SECONDS)
        url = f"http://127.0.0.1:{listen}"
        wait_for("nginx", lambda: status_of(f"{url}/_stcore/health") == 200, procs, 10)
        yield Proxy(url, replicas, store, folder)


def upstream_of(headers: dict[str, str]) -> str:
    """The replica that answered (the last one nginx tried)."""
    return headers["x-pcviz-upstream"].split(",")[-1].strip()


def route_of(context) -> str:
    routes = [c["value"] for c in context.cookies() if c["name"] == "pcviz_route"]
    assert len(routes) == 1 and ROUTE.match(routes[0]), context.cookies()
    return routes[0]


def access_log(proxy: Proxy) -> list[dict[str, str]]:
    """nginx's access lines (deploy/nginx.conf's `pcviz` format) as dictionaries."""
    pattern = re.compile(r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d+) .* '
                         r'upstream=(?P<upstream>.*) route=(?P<route>\S+)$')
    lines = (proxy.folder / "access.log").read_text().splitlines()
    return [m.groupdict() for m in map(pattern.search, lines) if m]


def test_health_check_and_each_browser_pinned_to_one_replica_training_over_the_websocket(
        proxy, browser):
    with explain_failure(proxy.folder):
        # The health check answers through nginx, which names the replica and hands out a
        # route for the next visit.
        with urllib.request.urlopen(f"{proxy.url}/_stcore/health", timeout=10) as reply:
            assert reply.status == 200 and reply.read().strip() == b"ok"
            assert upstream_of({k.lower(): v for k, v in reply.headers.items()}) in proxy.replicas
            assert any(re.match(r"pcviz_route=[0-9a-f]{32}; Path=/", cookie)
                       for cookie in reply.headers.get_all("Set-Cookie")), reply.headers

        probe = HealthProbe(proxy.url, period=0.5)
        probe.start()
        # Two visitors, each with a cookie jar of its own, open the lab and train.
        contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(2)]
        answered: list[list[str]] = [[], []]
        for context, seen in zip(contexts, answered):
            # Every answer from the network (not the page's own blob: and data: addresses).
            context.on("response", lambda r, seen=seen: r.url.startswith("http") and seen.append(
                upstream_of(r.headers) if "x-pcviz-upstream" in r.headers else f"none: {r.url}"))
        try:
            pages = [open_lab(context, proxy.url + "/") for context in contexts]
            routes = [route_of(context) for context in contexts]
            assert routes[0] != routes[1]
            for page in pages:
                page.get_by_role("heading", name=re.compile("Live lab")).first.wait_for(
                    timeout=WAIT_MS)
            # The websocket works through the proxy: Play trains one page, Step the other.
            press(pages[0], "Play", shows="Pause")
            step = pages[1].get_by_role("button", name="Step", exact=True)

            def stepped() -> bool:
                if step.is_enabled():
                    step.click()
                return step_count(pages[1]) > 0

            wait_until(pages[1], stepped, 60, "Step to train through the proxy")
            wait_until(pages[0], lambda: step_count(pages[0]) > 0, 60,
                       "Play to train through the proxy")
            press(pages[0], "Pause", shows="Play")
            for page in pages:
                no_exception(page)
            # Every response each page had came from one replica, its pin ...
            pins = []
            for seen, route in zip(answered, routes):
                assert seen and set(seen) <= set(proxy.replicas), seen
                assert len(set(seen)) == 1, f"route {route} reached {sorted(set(seen))}"
                pins.append(seen[0])
            # ... and so does every further request with that cookie.
            for context, pin, route in zip(contexts, pins, routes):
                for _ in range(5):
                    reply = context.request.get(f"{proxy.url}/_stcore/health", timeout=10_000)
                    assert reply.ok and upstream_of(reply.headers) == pin
                assert route_of(context) == route
        finally:
            for context in contexts:
                context.close()
            probe.stop()
        assert probe.samples and not probe.failures, probe.failures[:5]

        # nginx's log shows each visitor's every request, its websocket included, on its
        # replica (a websocket is logged when it closes).
        def both_websockets_logged() -> bool:
            logged = {(e["route"], e["status"]) for e in access_log(proxy)
                      if e["path"].startswith("/_stcore/stream")}
            return all((route, "101") in logged for route in routes)

        deadline = time.monotonic() + 15
        while not both_websockets_logged() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert both_websockets_logged(), "no websocket handshake (101) in nginx's access log"
        entries = access_log(proxy)
        for route, pin in zip(routes, pins):
            mine = [e for e in entries if e["route"] == route]
            assert {e["upstream"].split(",")[-1].strip() for e in mine} == {pin}, mine

        # With enough fresh visitors, both replicas get some.
        reached = set(pins)
        for _ in range(FRESH_VISITORS):
            if reached == set(proxy.replicas):
                break
            context = browser.new_context()
            try:
                reply = context.request.get(f"{proxy.url}/_stcore/health", timeout=10_000)
                assert reply.ok
                reached.add(upstream_of(reply.headers))
                route_of(context)
            finally:
                context.close()
        assert reached == set(proxy.replicas), reached


def test_a_run_trained_through_the_proxy_is_in_the_shared_store(proxy, browser):
    try:
        from pcviz.store import open_store
    except ModuleNotFoundError as err:
        if err.name not in ("pcviz.store",):
            raise
        pytest.skip("pcviz.store (the shared run store) does not exist yet")
    with explain_failure(proxy.folder):
        context = browser.new_context(viewport=VIEWPORT)
        try:
            page = open_lab(context, proxy.url + "/")
            step = page.get_by_role("button", name="Step", exact=True)

            def stepped() -> bool:
                if step.is_enabled():
                    step.click()
                return step_count(page) > 0

            wait_until(page, stepped, 60, "Step to train through the proxy")
            no_exception(page)

            def recorded() -> bool:
                return len(open_store(str(proxy.store)).runs(kind="lab")) > 0

            wait_until(page, recorded, 20, "a run of kind 'lab' in the shared store")
        finally:
            context.close()
