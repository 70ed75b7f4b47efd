"""`titlegen serve`, a real server in a child process on loopback, asked over real HTTP.

The run is the conditioned tiny model of `styled_runs` (three subreddits whose styles a rule
tells apart, tests/styles.py). The load figure (32 clients, 4 titles each, against one request
at a time) is measured by benchmarks/serve.py, not here.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from titlegen.cli import cli

READY = re.compile(r"Serving \S+ at (http://\S+)/ ")
START_TIMEOUT = 90  # seconds for TensorFlow to start and the run to load


class Server:
    """`titlegen serve ... --port 0` in a child process; its address is read from stderr."""

    def __init__(self, folder: Path, *args: str) -> None:
        command = [sys.executable, "-m", "titlegen", "serve", "--checkpoint-dir",
                   str(folder.parent), "--run-name", folder.name, "--port", "0", *args]  # fmt: skip
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._ready = threading.Event()
        self.url = ""
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(START_TIMEOUT) or not self.url:
            self.process.kill()
            raise AssertionError("the server did not start:\n" + "".join(self.lines))

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)
            found = READY.search(line)
            if found:
                self.url = found[1]
                self._ready.set()
        self._ready.set()  # it ended

    def titles(self, timeout: float = 60, **body) -> requests.Response:
        return requests.post(f"{self.url}/api/titles", json=body, timeout=timeout)

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.process.send_signal(sig)
        return self.process.wait(60)


@contextmanager
def serving(folder: Path, *args: str):
    server = Server(folder, *args)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="module")
def styled(styled_runs) -> Path:
    return styled_runs / "styled"


@pytest.fixture(scope="module")
def server(styled):
    with serving(styled) as server:
        yield server


def test_health_and_subreddits(server, styled):
    health = requests.get(f"{server.url}/api/health", timeout=10).json()
    assert health["status"] == "ok" and health["run"] == "styled" and health["conditioned"]
    assert health["defaults"]["n"] == 10 and health["defaults"]["temperature"] == 0.7
    recorded = json.loads((styled / "titlegen.json").read_text())["subreddits"]
    listed = requests.get(f"{server.url}/api/subreddits", timeout=10).json()["subreddits"]
    assert {s["name"]: s["titles"] for s in listed} == recorded
    counts = [s["titles"] for s in listed]
    assert counts == sorted(counts, reverse=True)


def test_the_api_is_documented_without_other_hosts(server):
    docs = requests.get(f"{server.url}/docs", timeout=10)
    assert docs.status_code == 200
    sources = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)""", docs.text)
    assert any(source.endswith("swagger-ui-bundle.js") for source in sources), sources
    assert not [s for s in sources if "://" in s], sources  # works offline
    for source in sources:
        assert requests.get(f"{server.url}{source}", timeout=10).status_code == 200, source
    spec = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    body = spec["paths"]["/api/titles"]["post"]["requestBody"]["content"]["application/json"]
    assert set(body["schema"]["properties"]) == {
        "n", "subreddit", "prefix", "keywords", "temperature", "top_k", "top_p", "max_tokens",
        "seed", "novel", "unique",
    }  # fmt: skip


def test_titles_of_a_subreddit_are_synthetic_and_in_its_style(server):
    from styles import STYLES

    answer = server.titles(n=6, subreddit="r/Shouting", seed=3)
    assert answer.status_code == 200, answer.text
    titles = answer.json()["titles"]
    assert len(titles) == 6
    assert all(t["synthetic"] is True and t["subreddit"] == "shouting" for t in titles)
    assert sum(bool(STYLES["shouting"].fullmatch(t["title"])) for t in titles) >= 4


def test_the_same_seed_gives_the_same_titles_as_generate(server, styled):
    asked = {"n": 5, "subreddit": "whispers", "seed": 11, "temperature": 1.0, "top_k": 40}
    first = server.titles(**asked).json()
    assert first["seed"] == 11
    assert server.titles(**asked).json()["titles"] == first["titles"]
    assert server.titles(**{**asked, "seed": 12}).json()["titles"] != first["titles"]
    where = ["--checkpoint-dir", str(styled.parent), "--run-name", "styled"]
    result = CliRunner().invoke(
        cli, ["generate", *where, "--nsamples", "5", "--subreddit", "whispers", "--seed", "11",
              "--temperature", "1.0", "--top-k", "40"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [t["title"] for t in first["titles"]]


def test_no_seed_gives_one_to_send_back(server):
    first = server.titles(n=3).json()
    again = server.titles(n=3, seed=first["seed"]).json()
    assert again["titles"] == first["titles"]


def test_prefix_novel_and_unique(server):
    answer = server.titles(n=4, prefix="quiet", seed=2, novel=True, unique=True).json()
    assert isinstance(answer["copies"], int) and isinstance(answer["repeats"], int)
    titles = [t["title"] for t in answer["titles"]]
    assert len(titles) == 4 and all(t.startswith("quiet") for t in titles)
    assert len({t.casefold() for t in titles}) == 4
    assert all(t["subreddit"] in {"numbers", "shouting", "whispers"} for t in answer["titles"])


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b'{"n": 3', 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'"n"', 400, "must be a JSON object"),
        (b"[" * 16_000, 400, "nested too deeply"),
        (b'{"prefix": "\\ud800"}', 400, "lone surrogate"),
        (b'{"n": "\\ud800"}', 400, "lone surrogate"),
        (b'{"count": 3}', 422, "Unknown field 'count': the fields are n, subreddit"),
        (b'{"n": "3"}', 422, "n: input should be a valid integer"),
        (b'{"n": 2.5}', 422, "n: input should be a valid integer"),
        (b'{"novel": "yes"}', 422, "novel: input should be a valid boolean"),
        (b'{"n": 0}', 422, "n: input should be greater than or equal to 1"),
        (b'{"n": 101}', 422, "n can be at most 100 on this server"),
        (b'{"temperature": 0}', 422, "temperature: input should be greater than or equal to 0.001"),
        (b'{"temperature": 1e-300}', 422, "temperature: input should be greater than or equal"),
        (b'{"temperature": 1e999}', 422, "temperature: input should be a finite number"),
        (b'{"top_p": 1.5}', 422, "top_p: input should be less than or equal to 1"),
        (b'{"top_k": -1}', 422, "top_k: input should be greater than or equal to 0"),
        (b'{"max_tokens": 1024}', 422, "max_tokens: input should be less than or equal to 1023"),
        (b'{"seed": -1}', 422, "seed: input should be greater than or equal to 0"),
        (b'{"subreddit": "whisper"}', 422, "not trained on r/whisper: did you mean whispers?"),
        (b'{"subreddit": "zzzzzz"}', 422, "GET /api/subreddits lists its 3"),
        (b'{"prefix": "' + b"ab" * 999 + b'"}', 422, "prefix is too long"),
        (b'{"prefix": "' + b"ab" * 450 + b'", "max_tokens": 500}', 422, "max_tokens can be at"),
        (b'{"prefix": "' + b"a" * 20_000 + b'"}', 413, "larger than 16384 bytes"),
        (b'{"keywords": "rain"}', 422, "This run was trained without keywords: leave keywords"),
        (b'{"keywords": ["rain"]}', 422, "keywords: input should be a valid string"),
        (b'{"keywords": "' + b"x" * 201 + b'"}', 422, "keywords: string should have at most 200"),
    ],
)
def test_a_bad_request_gets_a_4xx_that_says_what_is_wrong(server, body, status, says):
    answer = requests.post(f"{server.url}/api/titles", data=body, timeout=30)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]
    assert answer.json()["error"].endswith((".", "?"))


def test_other_paths_and_methods_answer_json(server):
    missing = requests.get(f"{server.url}/api/nothing", timeout=10)
    assert missing.status_code == 404 and "nothing at /api/nothing" in missing.json()["error"]
    wrong = requests.get(f"{server.url}/api/titles", timeout=10)
    assert wrong.status_code == 405 and wrong.json()["error"]


def test_an_unconditioned_run_has_no_subreddits(styled_runs):
    with serving(styled_runs / "plain") as server:
        listed = requests.get(f"{server.url}/api/subreddits", timeout=10).json()
        assert listed == {"subreddits": []}
        answer = server.titles(subreddit="numbers")
        assert answer.status_code == 422
        assert "trained without subreddits" in answer.json()["error"]
        assert len(server.titles(n=2, seed=1).json()["titles"]) == 2


def test_concurrent_requests_share_batches_and_keep_their_titles(server):
    """32 clients asking 4 titles each, all at once: fewer batches than requests, and each
    answer the same as the same request alone."""
    asked = [
        {"n": 4, "seed": i, "subreddit": ["numbers", "shouting", "whispers", None][i % 4],
         "temperature": [0.7, 1.0][i % 2], "prefix": "x" if i % 8 == 7 else ""}
        for i in range(32)
    ]  # fmt: skip
    alone = [server.titles(**body).json()["titles"] for body in asked[:6]]
    before = requests.get(f"{server.url}/api/health", timeout=10).json()["sampled"]
    with ThreadPoolExecutor(32) as pool:
        answers = list(pool.map(lambda body: server.titles(**body), asked))
    after = requests.get(f"{server.url}/api/health", timeout=10).json()["sampled"]
    assert [a.status_code for a in answers] == [200] * 32
    assert all(len(a.json()["titles"]) == 4 for a in answers)
    assert [a.json()["titles"] for a in answers[:6]] == alone
    assert after["batches"] - before["batches"] < 32  # fewer batches than requests
    assert after["rows"] - before["rows"] >= 32 * 4


def test_a_full_queue_answers_503_at_once(styled):
    with serving(styled, "--max-waiting", "1", "--max-batch", "1") as server:
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda i: server.titles(n=8, seed=i), range(12)))
        codes = [a.status_code for a in answers]
        assert 503 in codes and 200 in codes and set(codes) <= {200, 503}, codes
        busy = next(a for a in answers if a.status_code == 503)
        assert "busy" in busy.json()["error"]
        assert server.titles(n=1, seed=1).status_code == 200  # and it recovers


def test_a_client_that_goes_away_does_not_break_the_others(server):
    alone = server.titles(n=3, seed=5).json()["titles"]
    with pytest.raises(requests.exceptions.Timeout):
        server.titles(timeout=0.05, n=100, max_tokens=300, temperature=5.0, seed=1)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: server.titles(n=3, seed=5), range(4)))
    assert [a.json()["titles"] for a in answers] == [alone] * 4
    deadline = time.monotonic() + 30
    while requests.get(f"{server.url}/api/health", timeout=10).json()["waiting"]:
        assert time.monotonic() < deadline, "the abandoned request was never dropped"
        time.sleep(0.1)


def test_an_api_key_guards_the_api_not_the_page(styled):
    with serving(styled, "--api-key", "s3cret") as server:
        health = f"{server.url}/api/health"
        assert requests.get(health, timeout=10).status_code == 401
        wrong = requests.get(health, headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401 and "API key" in wrong.json()["error"]
        assert wrong.headers["WWW-Authenticate"] == "Bearer"
        assert requests.post(f"{server.url}/api/titles", json={}, timeout=10).status_code == 401
        good = {"Authorization": "Bearer s3cret"}
        assert requests.get(health, headers=good, timeout=10).status_code == 200
        answer = requests.post(f"{server.url}/api/titles", json={"n": 1}, headers=good, timeout=30)
        assert answer.status_code == 200 and len(answer.json()["titles"]) == 1
        assert requests.get(f"{server.url}/", timeout=10).status_code == 200


def test_the_key_can_come_from_the_environment_and_a_network_bind_is_warned(styled, monkeypatch):
    monkeypatch.setenv("TITLEGEN_API_KEY", "from-env")
    with serving(styled, "--host", "0.0.0.0") as server:
        assert "Warning" not in "".join(server.lines)  # it has a key
        url = server.url.replace("0.0.0.0", "127.0.0.1")
        assert requests.get(f"{url}/api/health", timeout=10).status_code == 401
        ok = requests.get(f"{url}/api/health", headers={"Authorization": "Bearer from-env"})
        assert ok.status_code == 200
    monkeypatch.delenv("TITLEGEN_API_KEY")
    with serving(styled, "--host", "0.0.0.0") as server:
        assert "Warning: listening on 0.0.0.0 without --api-key" in "".join(server.lines)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_finishes_the_request_in_flight_and_exits_0(styled, sig):
    with serving(styled) as server, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(server.titles, n=100, max_tokens=200, temperature=2.0, seed=1)
        deadline = time.monotonic() + 10
        while not requests.get(f"{server.url}/api/health", timeout=10).json()["waiting"]:
            assert time.monotonic() < deadline and not pending.done(), "never saw it waiting"
        assert server.stop(sig) == 0, "".join(server.lines)
        answer = pending.result()
    assert answer.status_code == 200 and len(answer.json()["titles"]) == 100
    assert "Traceback" not in "".join(server.lines)


def test_a_taken_port_is_one_sentence(server, styled):
    port = server.url.rsplit(":", 1)[1]
    where = ["--checkpoint-dir", str(styled.parent), "--run-name", "styled"]
    result = CliRunner().invoke(cli, ["serve", *where, "--port", port])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: Cannot listen on 127.0.0.1:{port} (address already in use): pick another "
        "--port or --host.\n"
    )


def test_a_top_k_beyond_the_vocabulary_keeps_every_token(server):
    wide = server.titles(n=3, seed=4, top_k=100_000)
    assert wide.status_code == 200, wide.text
    assert wide.json()["titles"] == server.titles(n=3, seed=4, top_k=0).json()["titles"]


def test_a_keyword_run_takes_keywords(keyword_run):
    from styles import STYLES

    with serving(keyword_run) as server:
        health = requests.get(f"{server.url}/api/health", timeout=10).json()
        assert health["keywords"] is True and health["defaults"]["keywords"] is None
        answer = server.titles(n=10, subreddit="whispers", keywords="Rain", seed=1)
        assert answer.status_code == 200, answer.text
        titles = [t["title"] for t in answer.json()["titles"]]
        assert sum(bool(STYLES["whispers"].fullmatch(t)) for t in titles) >= 8, titles
        # The same titles as generate --keywords, which frames the prompt the same way.
        where = ["--checkpoint-dir", str(keyword_run.parent), "--run-name", keyword_run.name]
        asked = ["--subreddit", "whispers", "--keywords", "Rain", "--nsamples", "10", "--seed", "1"]
        result = CliRunner().invoke(cli, ["generate", *where, *asked])
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == titles
        many = server.titles(keywords="rain, tea, moss, nap")
        assert many.status_code == 422
        assert many.json()["error"].startswith("Ask for at most 3 keywords")
        stop = server.titles(keywords="the")
        assert stop.status_code == 422 and "No keyword left in 'the'" in stop.json()["error"]
