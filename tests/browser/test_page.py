"""The search page in a real headless Chromium, against the real release binary.

Run by scripts/browser-test.sh (which installs Chromium, chromedriver and a pinned selenium):

    python tests/browser/test_page.py path/to/glossa

Starts `glossa demo` (embedded index, the UDHR sample) on a free loopback port with a temporary
data directory, twice: without keys (the demo's open loopback mode) and with a key created by
`glossa keys create`. Every wait is bounded; on a failure the server's log is printed.
GLOSSA_SCREENSHOTS=1 also writes docs/screenshots/search.png and operator.png.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WAIT_SECONDS = 20
READY_SECONDS = 120
SCREENSHOTS = os.environ.get("GLOSSA_SCREENSHOTS") == "1"


class Server:
    """`glossa demo` on a free loopback port, with its own data directory and log."""

    def __init__(self, binary, key_scopes=None):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="glossa-browser-")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GLOSSA_")}
        self.env["RUST_LOG"] = "warn,glossa=info"
        self.key = None
        if key_scopes:
            created = subprocess.run(
                [binary, "--data-dir", self.data, "keys", "create", "--scope", key_scopes, "--name", "browser-test"],
                env=self.env, capture_output=True, text=True, timeout=60,
            )
            if created.returncode != 0:
                raise RuntimeError(f"glossa keys create failed: {created.stderr}")
            self.key = created.stdout.strip()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [binary, "--data-dir", self.data, "demo", "--listen", f"127.0.0.1:{self.port}"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"glossa demo exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"glossa demo was not ready within {READY_SECONDS} s")

    def request(self, method, path, body=None, key=None):
        """Status and JSON answer of one API call."""
        headers = {"Content-Type": "application/x-ndjson"} if body is not None else {}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(f"{self.base}{path}", data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def print_log(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as log:
            print(f"---- server log ({self.log_path}) ----\n{log.read()[-20000:]}\n---- end of server log ----")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("GLOSSA_BROWSER", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=en-US", "--disable-gpu"):
        options.add_argument(flag)
    driver_path = os.environ.get("GLOSSA_CHROMEDRIVER", "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    driver.set_script_timeout(WAIT_SECONDS)
    return driver


def wait(driver, what, condition):
    try:
        # The page re-renders as answers arrive: an element read mid-render is read again.
        return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.1,
                             ignored_exceptions=[StaleElementReferenceException]).until(lambda d: condition(d))
    except TimeoutException:
        raise AssertionError(f"timed out after {WAIT_SECONDS} s waiting for {what}") from None


def by_id(driver, element_id):
    return driver.find_element(By.ID, element_id)


def results(driver):
    """(id, lang, title) of each result shown."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#results a.result')].map(a => "
        "[a.dataset.id, a.dataset.lang, a.querySelector('.hit-title').textContent])"
    )


def search_for(driver, text):
    """Types `text` as a person would and waits until the list answers it with results."""
    box = by_id(driver, "q")
    box.clear()
    box.send_keys(text)
    wait(driver, f"results for {text!r}", lambda d: by_id(d, "results").get_attribute("data-query") == text and results(d))
    return results(driver)


def query_language(driver):
    return by_id(driver, "query-lang").get_attribute("data-lang")


def test_demo_prints_the_page_url_first(driver, server):
    server.log.flush()
    with open(server.log_path, errors="replace") as log:
        lines = [line.strip() for line in log if line.strip()]
    serving = next(i for i, line in enumerate(lines) if line.startswith("Glossa is serving"))
    assert lines[serving + 1] == f"Open the search page: {server.base}/", lines[serving:serving + 3]


def test_searches_in_three_scripts(driver, server):
    driver.get(f"{server.base}/")
    wait(driver, "the search box", lambda d: by_id(d, "q").is_displayed())
    assert not by_id(driver, "key-view").is_displayed(), "an open demo server asked for a key"

    hits = search_for(driver, "Menschenrechte")
    assert query_language(driver) == "de", query_language(driver)
    assert hits[0][1] == "de", hits
    marks = [m.text for m in driver.find_elements(By.CSS_SELECTOR, "#results mark")]
    assert any(re.match(r"(?i)menschenrecht", m) for m in marks), f"no highlighted match: {marks}"
    assert re.search(r"\d+ results?", by_id(driver, "count").text), by_id(driver, "count").text

    hits = search_for(driver, "свобода")
    assert query_language(driver) in ("ru", "uk", "bg"), query_language(driver)
    assert "ru" in {lang for _, lang, _ in hits}, hits

    hits = search_for(driver, "人权")
    assert query_language(driver) in ("zh", "ja"), query_language(driver)
    assert {lang for _, lang, _ in hits} & {"zh", "ja"}, hits
    title = driver.find_element(By.CSS_SELECTOR, "#results a.result .hit-title")
    assert title.get_attribute("lang") in ("zh", "ja"), title.get_attribute("lang")
    if SCREENSHOTS:
        driver.save_screenshot(os.path.join(ROOT, "docs", "screenshots", "search.png"))


def test_override_query_language(driver, server):
    search_for(driver, "Menschenrechte")
    select = by_id(driver, "lang-select")
    select.find_element(By.CSS_SELECTOR, "option[value='nl']").click()
    wait(driver, "the query searched as Dutch", lambda d: query_language(d) == "nl")
    assert "chosen" in by_id(driver, "query-lang").text, by_id(driver, "query-lang").text
    select.find_element(By.CSS_SELECTOR, "option[value='']").click()
    wait(driver, "detection again", lambda d: query_language(d) == "de")


def test_metadata_filters(driver, server):
    everything = search_for(driver, "Menschenrechte")
    assert len(everything) > 1, everything
    for bound in ("filter-article-gte", "filter-article-lte"):
        by_id(driver, bound).send_keys("26")
    wait(driver, "only article 26", lambda d: [hit_id for hit_id, _, _ in results(d)] == ["udhr-deu_1996-26"])
    wait(driver, "the filtered count", lambda d: by_id(d, "count").text.startswith("1 result,"))
    for bound in ("filter-article-gte", "filter-article-lte"):
        by_id(driver, bound).clear()
        by_id(driver, bound).send_keys(Keys.BACKSPACE)
    by_id(driver, "q").send_keys(" ")
    wait(driver, "every article again", lambda d: len(results(d)) == len(everything))


def test_facet_paging_rtl_and_document(driver, server):
    search_for(driver, "*")
    facet = wait(driver, "the Arabic facet", lambda d: d.find_element(By.CSS_SELECTOR, "#facets button[data-lang='ar']"))
    facet_count = int(facet.find_element(By.CLASS_NAME, "facet-count").text)
    assert facet_count > 10, f"the sample holds {facet_count} Arabic documents, fewer than two pages"
    facet.click()
    wait(driver, "only Arabic results", lambda d: results(d) and all(lang == "ar" for _, lang, _ in results(d)))
    wait(driver, "the count of Arabic results", lambda d: by_id(d, "count").text.startswith(f"{facet_count} result"))
    pressed = driver.find_element(By.CSS_SELECTOR, "#facets button[data-lang='ar']")
    assert pressed.get_attribute("aria-pressed") == "true"

    title = driver.find_element(By.CSS_SELECTOR, "#results a.result .hit-title")
    direction = driver.execute_script("return getComputedStyle(arguments[0]).direction", title)
    assert direction == "rtl", f"an Arabic title is laid out {direction}"
    snippet = driver.find_element(By.CSS_SELECTOR, "#results a.result .hit-snippet")
    assert driver.execute_script("return getComputedStyle(arguments[0]).direction", snippet) == "rtl"

    first_page = [hit_id for hit_id, _, _ in results(driver)]
    assert len(first_page) == 10, first_page
    by_id(driver, "next").click()
    wait(driver, "page 2", lambda d: by_id(d, "results").get_attribute("data-page") == "2")
    second_page = [hit_id for hit_id, _, _ in results(driver)]
    assert second_page and not set(second_page) & set(first_page), (first_page, second_page)
    assert all(lang == "ar" for _, lang, _ in results(driver))
    assert by_id(driver, "page-number").text == "Page 2"
    by_id(driver, "prev").click()
    wait(driver, "page 1 again", lambda d: by_id(d, "results").get_attribute("data-page") == "1")
    assert [hit_id for hit_id, _, _ in results(driver)] == first_page

    # Keyboard: Down from the search box into the list, Down again, Enter opens.
    by_id(driver, "q").send_keys(Keys.ARROW_DOWN)
    active = driver.switch_to.active_element
    assert active.get_attribute("data-id") == first_page[0], active.get_attribute("outerHTML")[:200]
    active.send_keys(Keys.ARROW_DOWN)
    active = driver.switch_to.active_element
    assert active.get_attribute("data-id") == first_page[1]
    active.send_keys(Keys.ENTER)
    wait(driver, "the document view", lambda d: by_id(d, "doc-view").is_displayed() and by_id(d, "doc-method").text)
    assert by_id(driver, "doc-id").text == first_page[1]
    assert by_id(driver, "doc-lang").text.endswith("(ar)"), by_id(driver, "doc-lang").text
    assert re.match(r"^[01]\.\d\d \(\d+%\)$", by_id(driver, "doc-confidence").text), by_id(driver, "doc-confidence").text
    assert by_id(driver, "doc-method").text not in ("", "–")
    record = json.loads(by_id(driver, "doc-source").text)
    assert record["id"] == first_page[1], record
    assert driver.execute_script("return getComputedStyle(arguments[0]).direction", by_id(driver, "doc-title")) == "rtl"
    by_id(driver, "doc-back").click()
    wait(driver, "the results again", lambda d: by_id(d, "search-view").is_displayed())
    assert driver.switch_to.active_element.get_attribute("data-id") == first_page[1], "focus did not return to the opened result"
    # Clear the facet for the next test.
    driver.find_element(By.CSS_SELECTOR, "#facets button[data-lang='ar']").click()
    wait(driver, "every language again", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#facets button")) > 1)


def test_operator_view_counts_dead_letters(driver, server):
    bad = b'{"id": "no-text-here", "category": "x"}\n{"id": "wrong-type", "title": 42}\n'
    status, answer = server.request("POST", "/v1/documents", body=bad, key=server.key)
    assert status == 200 and answer["accepted"] == 0 and len(answer["rejected"]) == 2, answer
    driver.get(f"{server.base}/#operator")
    wait(driver, "the operator view", lambda d: by_id(d, "operator-view").is_displayed() and by_id(d, "op-dead-total").text)
    assert by_id(driver, "op-dead-total").text == "2", by_id(driver, "op-dead-total").text
    assert int(by_id(driver, "op-documents").text) >= 700, by_id(driver, "op-documents").text
    reasons = {row.find_elements(By.TAG_NAME, "td")[0].text for row in driver.find_elements(By.CSS_SELECTOR, "#op-reasons tbody tr")}
    assert reasons == {"no_text", "bad_text_field"}, reasons
    letters = [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in driver.find_elements(By.CSS_SELECTOR, "#op-letters tbody tr")]
    assert len(letters) == 2 and all(re.match(r"^http:\S+:[12]$", letter[2]) for letter in letters), letters
    languages = driver.find_elements(By.CSS_SELECTOR, "#op-languages tbody tr")
    assert len(languages) >= 20, f"{len(languages)} languages listed"
    if SCREENSHOTS:
        driver.set_window_size(1280, 1300)
        driver.save_screenshot(os.path.join(ROOT, "docs", "screenshots", "operator.png"))
        driver.set_window_size(1280, 900)


def test_key_is_asked_once_and_never_in_a_url(driver, server):
    assert server.key, "the server has no key"
    status, _ = server.request("GET", "/v1/search?q=Menschenrechte")
    assert status == 401, f"a search without a key answered {status}"
    driver.get(f"{server.base}/")
    wait(driver, "the key form", lambda d: by_id(d, "key-view").is_displayed())
    assert not by_id(driver, "search-view").is_displayed()
    by_id(driver, "key-input").send_keys(server.key)
    by_id(driver, "key-input").send_keys(Keys.ENTER)
    wait(driver, "the search box", lambda d: by_id(d, "q").is_displayed())
    stored = driver.execute_script("return sessionStorage.getItem('glossa.apiKey')")
    assert stored == server.key, "the key is not in sessionStorage"
    hits = search_for(driver, "Menschenrechte")
    assert hits[0][1] == "de", hits
    # A reload keeps the key for the tab: no second prompt.
    driver.refresh()
    wait(driver, "the search box after a reload", lambda d: by_id(d, "q").is_displayed())
    assert not by_id(driver, "key-view").is_displayed(), "the key was asked for again"
    search_for(driver, "свобода")
    driver.get(f"{server.base}/#operator")
    wait(driver, "the operator view with the key", lambda d: by_id(d, "op-documents").text)
    urls = driver.execute_script("return [location.href, ...performance.getEntriesByType('resource').map(e => e.name)]")
    assert all(server.key not in url for url in urls), "the key appeared in a URL"
    assert any("/v1/search?" in url for url in urls), urls


def run(binary):
    passed, failed = 0, 0

    def check(name, test, driver, server):
        nonlocal passed, failed
        started = time.monotonic()
        try:
            test(driver, server)
            passed += 1
            print(f"ok   {name} ({time.monotonic() - started:.1f} s)", flush=True)
        except Exception:  # noqa: BLE001 - every failure is reported with the server's log
            failed += 1
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
            server.print_log()

    for scopes, tests in (
        (None, [test_demo_prints_the_page_url_first, test_searches_in_three_scripts, test_override_query_language, test_metadata_filters, test_facet_paging_rtl_and_document, test_operator_view_counts_dead_letters]),
        ("search,ingest,metrics", [test_key_is_asked_once_and_never_in_a_url]),
    ):
        server, driver = None, None
        try:
            server = Server(binary, key_scopes=scopes)
            driver = browser()
            for test in tests:
                check(test.__name__, test, driver, server)
        except Exception:  # noqa: BLE001
            failed += 1
            print(f"FAIL setup\n{traceback.format_exc()}", flush=True)
            if server is not None:
                server.print_log()
        finally:
            if driver is not None:
                driver.quit()
            if server is not None:
                server.stop()
    print(f"browser: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: test_page.py PATH_TO_GLOSSA_BINARY")
    sys.exit(run(os.path.abspath(sys.argv[1])))
