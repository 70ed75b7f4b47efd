"""The page `titlegen serve` shows at GET /, in a real headless Chromium: Debian's chromium and
chromedriver, driven by selenium, against a real `titlegen serve` of the session's tiny run.

`make test` installs the browser (Debian's packages); without it these tests fail and say so.
One browser and one server for the module keep it quick."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import train_cli
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from titlegen import sampling

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT = 60  # seconds: a title request on two busy cores, or a server loading TensorFlow
KEY = "secret"


def _chromium(width: int, height: int) -> webdriver.Chrome:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: run `make test`, which installs Debian's "
            "chromium and chromium-driver",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    # Both paths given, so selenium-manager has nothing to look up or download.
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",  # we run as root
        "--disable-gpu",
        "--disable-background-networking",  # no update or field-trial requests of its own
        "--disable-component-update",
        "--no-first-run",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    # Every request the page makes, from Chrome's DevTools log: the offline check reads it.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    driver = _chromium(1000, 700)
    yield driver
    driver.quit()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, key: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@contextmanager
def serving(folder: Path, log: Path, *args: str, key: str | None = None) -> Iterator[str]:
    """`titlegen serve` of the run in ``folder`` in a child process; yields its address."""
    port = _free_port()
    command = [sys.executable, "-m", "titlegen", "serve", "--checkpoint-dir", str(folder.parent),
               "--run-name", folder.name, "--port", str(port), *args]  # fmt: skip
    with log.open("wb") as out:
        # A shell that starts the suite in the background ignores SIGINT, and its child would too.
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, url, log, key)
        yield url
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: it stops and exits 0
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
    assert code == 0, f"titlegen serve exited {code} on Ctrl-C:\n{log.read_text()}"


def _wait_until_up(process: subprocess.Popen, url: str, log: Path, key: str | None) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"titlegen serve exited {process.returncode}:\n{log.read_text()}")
        try:
            if _get(f"{url}/api/health", key)[0] == 200:
                return
        except (OSError, ValueError):
            pass  # not listening yet
        time.sleep(0.25)
    pytest.fail(f"titlegen serve did not answer /api/health in {WAIT} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory) -> Iterator[str]:
    with serving(trained[0], tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def plain_run(titles_csv, tiny_model, tmp_path_factory) -> Path:
    """A run trained 1 step without subreddits: the page has nothing to choose from."""
    checkpoint_dir = tmp_path_factory.mktemp("plain")
    result = train_cli(titles_csv, tiny_model, checkpoint_dir, "--steps", "1", "--no-condition")
    assert result.exit_code == 0, result.output
    return checkpoint_dir / "run1"


def _ready(browser: webdriver.Chrome) -> bool:
    return browser.find_element(By.ID, "generate").is_enabled()


def _error(browser: webdriver.Chrome) -> str:
    return browser.find_element(By.ID, "error").text


def _items(browser: webdriver.Chrome) -> list:
    return browser.find_elements(By.CSS_SELECTOR, "#titles li")


def _open(browser: webdriver.Chrome, url: str) -> None:
    """Load the page and wait until it has asked the server and is ready to generate."""
    browser.get(f"{url}/")
    WebDriverWait(browser, WAIT).until(lambda b: _ready(b) or _error(b))
    assert _error(browser) == ""


def _generate(browser: webdriver.Chrome) -> list:
    """Submit the form; the titles' <li> once they are there (none after an error)."""
    old = _items(browser)
    browser.find_element(By.ID, "generate").click()
    WebDriverWait(browser, WAIT).until(lambda b: _ready(b) and (_items(b) != old or _error(b)))
    return _items(browser)


def _set(browser: webdriver.Chrome, element_id: str, value: str) -> None:
    """A field's value set from script: past the input's own checks, as a hand-made request."""
    browser.execute_script(
        "const field = document.getElementById(arguments[0]);"
        "field.removeAttribute('min'); field.removeAttribute('max'); field.value = arguments[1];",
        element_id,
        value,
    )


def _requested_urls(browser: webdriver.Chrome) -> list[str]:
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_the_page_loads_nothing_from_another_host(browser, server, trained):
    browser.get_log("performance")  # drop what earlier pages asked for
    _open(browser, server)
    _generate(browser)
    urls = _requested_urls(browser)
    assert f"{server}/" in urls and f"{server}/api/health" in urls
    elsewhere = [u for u in urls if urllib.parse.urlsplit(u).hostname != "127.0.0.1"]
    assert elsewhere == []
    assert browser.title == "titlegen"
    assert browser.find_element(By.ID, "run").text == f"run {trained[0].name}"


def test_the_fields_start_from_the_servers_defaults(browser, server):
    health = _get(f"{server}/api/health")[1]
    _open(browser, server)
    n = browser.find_element(By.ID, "n")
    assert n.get_attribute("max") == str(health["max_titles"])
    defaults = health.get("defaults", {})
    if "n" in defaults:
        assert n.get_attribute("value") == str(defaults["n"])
    if "temperature" in defaults:
        value = browser.find_element(By.ID, "temperature").get_attribute("value")
        assert float(value) == defaults["temperature"]


def test_the_subreddit_list_is_the_runs(browser, server, trained):
    _open(browser, server)
    field = browser.find_element(By.ID, "subreddit")
    assert field.is_displayed()
    options = Select(field).options
    assert (options[0].get_attribute("value"), options[0].text) == ("", "any subreddit")
    names = [option.get_attribute("value") for option in options[1:]]
    assert sorted(names) == sorted(sampling.subreddits(trained[0]))
    assert [option.text for option in options[1:]] == [f"r/{name}" for name in names]


def test_generating_shows_n_synthetic_titles_with_a_copy_button(browser, server):
    _open(browser, server)
    browser.find_element(By.ID, "n").clear()
    browser.find_element(By.ID, "n").send_keys("3")
    # The submit handler runs at once up to its request: the button's state right after a click.
    disabled, text = browser.execute_script(
        "const b = document.getElementById('generate');"
        "b.click(); return [b.disabled, b.textContent];"
    )
    assert (disabled, text) == (True, "Generating…")
    WebDriverWait(browser, WAIT).until(_ready)
    items = _items(browser)
    assert len(items) == 3
    for item in items:
        assert item.find_element(By.CSS_SELECTOR, ".title").text.strip() != ""
        assert item.get_attribute("data-synthetic") == "true"
        assert item.find_element(By.CSS_SELECTOR, "button.copy").text == "Copy"
    note = browser.find_element(By.ID, "note")
    assert note.is_displayed() and "Synthetic titles" in note.text
    assert browser.find_element(By.ID, "generate").text == "Generate"
    assert _error(browser) == ""

    copy = items[0].find_element(By.CSS_SELECTOR, "button.copy")
    copy.click()
    WebDriverWait(browser, 5).until(lambda b: copy.text == "Copied")
    WebDriverWait(browser, 5).until(lambda b: copy.text == "Copy")  # and back


def test_a_chosen_subreddit_labels_every_title(browser, server, trained):
    name = sorted(sampling.subreddits(trained[0]))[-1]
    _open(browser, server)
    Select(browser.find_element(By.ID, "subreddit")).select_by_value(name)
    _set(browser, "n", "2")
    items = _generate(browser)
    assert len(items) == 2
    assert [item.find_element(By.CSS_SELECTOR, ".subreddit").text for item in items] == [
        f"r/{name}"
    ] * 2


@pytest.mark.parametrize(
    ("field", "value", "body"),
    [
        ("temperature", "0", {"n": 1, "temperature": 0}),
        ("prefix", "x" * 5000, {"n": 1, "temperature": 0.7, "prefix": "x" * 5000}),
    ],
)
def test_a_refused_request_shows_the_servers_message(browser, server, field, value, body):
    status, answer = _get(f"{server}/api/titles", body=body)
    assert 400 <= status < 500 and answer["error"]
    _open(browser, server)
    _set(browser, "n", "1")
    _set(browser, field, value)
    assert _generate(browser) == []
    assert _error(browser) == answer["error"]
    # The page goes on: fixed, the same form gives a title and clears the error.
    _set(browser, field, "0.7" if field == "temperature" else "")
    assert len(_generate(browser)) == 1
    assert _error(browser) == ""


def test_a_lost_server_is_said_so(browser, server):
    _open(browser, server)
    browser.execute_cdp_cmd("Network.enable", {})
    offline = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    browser.execute_cdp_cmd("Network.emulateNetworkConditions", offline)
    try:
        _generate(browser)
        assert "Could not reach the titlegen server" in _error(browser)
    finally:
        browser.execute_cdp_cmd("Network.emulateNetworkConditions", {**offline, "offline": False})
    assert _ready(browser)


def test_a_busy_server_is_said_so(browser, server):
    """A 503 (the server's queue is full) is answered in the page as the server would; a real
    full queue depends on timing, so this one answer is made in the page itself."""
    _open(browser, server)
    busy = "The server is busy (256 requests waiting): try again."
    browser.execute_script(
        "const body = JSON.stringify({error: arguments[0]});"
        "window.fetch = async () => new Response(body, {status: 503,"
        " headers: {'Content-Type': 'application/json'}});",
        busy,
    )
    assert _generate(browser) == []
    assert _error(browser) == f"The server is busy, try again in a moment. ({busy})"
    assert _ready(browser)


def test_on_a_phone_the_form_is_one_column(browser, server):
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 412, "height": 915, "deviceScaleFactor": 1, "mobile": True},
    )
    try:
        _open(browser, server)
        _generate(browser)
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 412  # nothing sticks out sideways
        n = browser.find_element(By.ID, "n").rect
        temperature = browser.find_element(By.ID, "temperature").rect
        assert temperature["y"] > n["y"] + n["height"]  # stacked, not side by side
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_with_an_api_key_the_page_asks_for_it(browser, plain_run, tmp_path):
    """A server with --api-key, of a run trained without subreddits."""
    with serving(plain_run, tmp_path / "serve.log", "--api-key", KEY, key=KEY) as url:
        status, refused = _get(f"{url}/api/health")
        assert status == 401
        browser.get(f"{url}/")
        key = browser.find_element(By.ID, "key")
        WebDriverWait(browser, WAIT).until(lambda b: key.is_displayed())
        assert _error(browser) == refused["error"]
        assert not _ready(browser)

        key.send_keys("wrong\n")
        again = f"{refused['error']} Enter the key again."
        WebDriverWait(browser, WAIT).until(lambda b: _error(b) == again)
        assert key.is_displayed()

        key.send_keys(KEY + "\n")
        WebDriverWait(browser, WAIT).until(_ready)
        assert not key.is_displayed()
        assert not browser.find_element(By.ID, "subreddit").is_displayed()  # nothing to choose
        _set(browser, "n", "2")
        items = _generate(browser)
        assert len(items) == 2
        assert items[0].find_elements(By.CSS_SELECTOR, ".subreddit") == []

        _open(browser, url)  # the key is remembered in this browser
        assert not browser.find_element(By.ID, "key").is_displayed()


def test_the_keywords_field_is_shown_only_for_a_run_that_takes_them(
    browser, server, keyword_run, tmp_path
):
    _open(browser, server)  # a run trained without keywords
    assert not browser.find_element(By.ID, "keywords").is_displayed()
    with serving(keyword_run, tmp_path / "serve.log") as url:
        _open(browser, url)
        field = browser.find_element(By.ID, "keywords")
        assert field.is_displayed()
        Select(browser.find_element(By.ID, "subreddit")).select_by_value("whispers")
        _set(browser, "n", "5")
        field.send_keys("rain")
        browser.get_log("performance")  # drop what earlier pages asked for
        titles = [item.find_element(By.CSS_SELECTOR, ".title").text for item in _generate(browser)]
        assert len(titles) == 5 and all(titles), titles
        # The request carried the field, as the API takes it: one string.
        sent = [
            json.loads(entry["message"])["message"]["params"]["request"].get("postData", "")
            for entry in browser.get_log("performance")
            if "Network.requestWillBeSent" in entry["message"] and "/api/titles" in entry["message"]
        ]
        assert [json.loads(body)["keywords"] for body in sent if body] == ["rain"], sent
        _open(browser, url)
        browser.find_element(By.ID, "keywords").send_keys("the")  # the server's one sentence
        _set(browser, "n", "1")
        assert _generate(browser) == []
        assert _error(browser).startswith("No keyword left in 'the'")
