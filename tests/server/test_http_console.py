"""The console in a real browser: Debian's chromium driven by Selenium through chromedriver, against a
running server (keys on, tracking from the stand-in Japan Post). Each test fills a page's form as a
person would and asserts on what the page then shows; screenshots go to docs/img/console_*.png.

Without chromium and chromedriver these tests skip and say so, except under CI=true, where they fail.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from google.protobuf import json_format

from kokokara.shipping.server import bootstrap
from standin.japan_post import DEFAULT_PAGES, StandInJapanPost
from tests.conftest import IN_CI, REPO, test_settings
from tests.labels_support import SHIP_DATE, proto_request
from tests.security_support import make_keys

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = REPO / "docs" / "img"
HOSTILE_NUMBER = "LX331479647JP"
ORDER = "ORD-1001"
HOSTILE_TEXT = "<script>window.pwned=1</script><img src=x onerror=window.pwned=2>"

if not (CHROMIUM and CHROMEDRIVER):
    message = "chromium and chromedriver are needed for the console's browser tests (make system-deps installs them)"
    if IN_CI:
        pytest.fail(message + "; CI=true requires them", pytrace=False)
    pytest.skip(message + ": skipping them", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _hostile_pages(tmp: Path) -> Path:
    """The stand-in's pages, with an event whose text is markup, as a hostile or broken page could hold."""
    pages = tmp / "pages"
    shutil.copytree(DEFAULT_PAGES, pages)
    page = pages / "in_transit.html"
    text = page.read_text(encoding="utf-8")
    escaped = HOSTILE_TEXT.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    page.write_text(text.replace('<td rowspan="2">&nbsp;</td>', f'<td rowspan="2">{escaped}</td>', 1), encoding="utf-8")
    return pages


@pytest.fixture(scope="module")
def japan_post(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInJapanPost]:
    with StandInJapanPost(_hostile_pages(tmp_path_factory.mktemp("japan-post"))) as standin:
        yield standin


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, japan_post: StandInJapanPost) -> Iterator[tuple[str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("console")
    keys = make_keys(tmp / "keys.json")
    service = bootstrap.start(
        test_settings(
            api_keys_file=tmp / "keys.json",
            database_path=tmp / "labels.sqlite3",
            http_addr="127.0.0.1:0",
            tracking_base_url=japan_post.url,
            tracking_rate_per_second=100.0,
            rate_limit_per_second=0.0,
        )
    )
    try:
        yield f"http://127.0.0.1:{service.http_port}", keys
    finally:
        service.stop(0)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # type: ignore[assignment]
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-GB"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(browser: Any, what: Callable[[Any], Any], seconds: float = 20) -> Any:
    try:
        return WebDriverWait(browser, seconds).until(what)
    except TimeoutException:
        raise AssertionError(f"the page did not show it within {seconds:g} s; it shows:\n{browser.find_element(By.TAG_NAME, 'main').text}") from None


def sign_in(browser: Any, base: str, key: str) -> None:
    browser.get(base + "/")
    field = browser.find_element(By.ID, "api-key")
    field.send_keys(key)
    field.send_keys(Keys.ENTER)
    wait_for(browser, lambda b: "Signed in" in b.find_element(By.ID, "signin-state").text)


def screenshot(browser: Any, name: str, width: int = 1280) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return Math.min(document.documentElement.scrollHeight, 2400)")
    chrome = browser.execute_script("return window.outerHeight - window.innerHeight")  # the window's own bars: not page
    browser.set_window_size(width, max(600, height + chrome + 40))
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(SCREENSHOTS / f"console_{name}.png"))
    browser.set_window_size(1280, 1000)


def test_the_pages_carry_a_strict_policy_and_no_inline_script(console: tuple[str, dict[str, str]]) -> None:
    base, _ = console
    for page in ("/", "/lookup.html", "/quote.html", "/destinations.html", "/tables.html"):
        reply = requests.get(base + page, timeout=10)
        assert reply.status_code == 200
        policy = reply.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy
        assert "<script>" not in reply.text and "onclick" not in reply.text.lower()


def test_signing_in_keeps_the_key_for_the_browser_session_only(browser: Any, console: tuple[str, dict[str, str]]) -> None:
    base, keys = console
    sign_in(browser, base, keys["support"])
    assert browser.execute_script("return sessionStorage.getItem('kokokara-shipping-api-key')") == keys["support"]
    assert browser.execute_script("return localStorage.length") == 0
    assert browser.find_element(By.ID, "api-key").get_attribute("value") == ""  # not left on the page
    browser.find_element(By.ID, "signout").click()
    assert "Not signed in" in browser.find_element(By.ID, "signin-state").text


def test_parcel_lookup_shows_the_timeline_and_prints_markup_as_text(browser: Any, console: tuple[str, dict[str, str]]) -> None:
    base, keys = console
    # the shop's order system watches the parcel, as any client would, over the JSON API
    watched = requests.post(
        base + "/kokokara.shipping.v1.TrackingService/WatchParcel",
        json={"trackingNumber": HOSTILE_NUMBER, "orderReference": ORDER},
        headers={"authorization": "Bearer " + keys["admin"]},
        timeout=10,
    )
    assert watched.status_code == 200, watched.text
    sign_in(browser, base, keys["admin"])
    browser.get(base + "/lookup.html")
    # keyboard only: Tab from the top of the page to the tracking number field, type, Enter
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(20):
        if browser.switch_to.active_element.get_attribute("id") == "lookup-query":
            break
        browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.get_attribute("id") == "lookup-query"
    browser.switch_to.active_element.send_keys(HOSTILE_NUMBER, Keys.ENTER)
    result = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#lookup-result article"))
    shown = result.text
    assert HOSTILE_NUMBER in shown
    assert "Watched: next poll" in shown and f"order {ORDER}" in shown  # watched, in transit: still polled
    assert "OSAKA CENTRAL" in shown
    assert HOSTILE_TEXT in shown  # the markup is shown as the text it is
    assert browser.execute_script("return window.pwned === undefined")
    assert not result.find_elements(By.TAG_NAME, "script") and not result.find_elements(By.TAG_NAME, "img")
    assert "No label issued by this service under this number." in shown  # a number this service did not issue

    field = browser.find_element(By.ID, "lookup-query")
    field.clear()
    field.send_keys("EN123456785JP", Keys.ENTER)
    wait_for(browser, lambda b: "EN123456785JP" in b.find_element(By.ID, "lookup-result").text)
    shown = browser.find_element(By.ID, "lookup-result").text
    assert "Not watched" in shown and ", final" in shown  # delivered, and nobody asked to watch it

    # an order reference lists the order's watched parcels; one click opens a parcel
    field = browser.find_element(By.ID, "lookup-query")
    field.clear()
    field.send_keys(ORDER, Keys.ENTER)
    order = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#lookup-result ul.parcels"))
    assert f"Order {ORDER}" in browser.find_element(By.ID, "lookup-result").text and "1 watched parcel" in browser.find_element(By.ID, "lookup-result").text
    order.find_element(By.TAG_NAME, "button").click()
    wait_for(browser, lambda b: "OSAKA CENTRAL" in b.find_element(By.ID, "lookup-result").text)
    assert browser.find_element(By.ID, "lookup-query").get_attribute("value") == HOSTILE_NUMBER


def test_a_tracking_number_looked_up_shows_the_label_issued_under_it(browser: Any, console: tuple[str, dict[str, str]], japan_post: StandInJapanPost) -> None:
    base, keys = console
    # the warehouse issues a label, the shop's order system watches its parcel, and it reaches customs
    created = requests.post(
        base + "/kokokara.shipping.v1.LabelService/CreateLabel",
        json=json_format.MessageToDict(proto_request("console-label-1", name="Mika Tanaka")),
        headers={"authorization": "Bearer " + keys["warehouse"]},
        timeout=30,
    )
    assert created.status_code == 200, created.text
    issued = created.json()["label"]
    number = issued["trackingNumber"]
    japan_post.set_scenario(number, "in_customs")
    watched = requests.post(
        base + "/kokokara.shipping.v1.TrackingService/WatchParcel",
        json={"trackingNumber": number, "orderReference": "ORD-1002"},
        headers={"authorization": "Bearer " + keys["warehouse"]},
        timeout=10,
    )
    assert watched.status_code == 200, watched.text

    # "where is my parcel?": looked up by its number as a customer reads it out, with a key that may read labels
    sign_in(browser, base, keys["warehouse"])
    browser.get(base + "/lookup.html")
    field = browser.find_element(By.ID, "lookup-query")
    field.send_keys(f"{number[:2].lower()} {number[2:11]} {number[11:].lower()}", Keys.ENTER)
    shown_label = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#lookup-result article section.label"))
    shown = browser.find_element(By.ID, "lookup-result").text
    assert number in shown and "in customs" in shown and "order ORD-1002" in shown
    assert issued["id"] in shown_label.text and "EMS" in shown_label.text and "active" in shown_label.text
    assert "Mika Tanaka" in shown_label.text and SHIP_DATE.isoformat() in shown_label.text
    screenshot(browser, "lookup")

    # a support key reads the tracking and the label, but not its names and addresses: it is told so
    sign_in(browser, base, keys["support"])
    browser.get(base + "/lookup.html")
    browser.find_element(By.ID, "lookup-query").send_keys(number, Keys.ENTER)
    shown_label = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#lookup-result article section.label"))
    shown = browser.find_element(By.ID, "lookup-result").text
    assert "in customs" in shown and "Mika Tanaka" not in shown
    assert issued["id"] in shown_label.text and "EMS" in shown_label.text and "warehouse keys only" in shown_label.text


def test_lookup_errors_say_what_is_wrong(browser: Any, console: tuple[str, dict[str, str]]) -> None:
    base, keys = console
    sign_in(browser, base, keys["checkout"])  # a role that may not track
    browser.get(base + "/lookup.html")
    browser.find_element(By.ID, "lookup-query").send_keys("EN123456785JP", Keys.ENTER)
    alert = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#lookup-result [role=alert]"))
    assert "may not do this" in alert.text and "ROLE_NOT_ALLOWED" in alert.text


def test_quote_calculator_lists_every_method_with_prices_and_reasons(browser: Any, console: tuple[str, dict[str, str]]) -> None:
    base, keys = console
    sign_in(browser, base, keys["analyst"])
    browser.get(base + "/quote.html")
    browser.find_element(By.ID, "q-region").send_keys("US")
    browser.find_element(By.ID, "q-weight").send_keys("1200")
    browser.find_element(By.ID, "q-size").send_keys("30x20x10")
    browser.find_element(By.ID, "q-weight").send_keys(Keys.ENTER)
    result = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#quote-result table"))
    shown = browser.find_element(By.ID, "quote-result").text
    assert "JPY" in shown
    assert "Not available" in shown and "service suspended" in shown  # goods to the US
    assert result.find_elements(By.CSS_SELECTOR, "tbody tr")
    browser.find_element(By.ID, "q-region").clear()
    browser.find_element(By.ID, "q-region").send_keys("GB", Keys.ENTER)
    wait_for(browser, lambda b: "offered to GB" in b.find_element(By.ID, "quote-result").text)
    assert "日" in browser.find_element(By.ID, "quote-result").text  # Japan Post's own wording, in Japanese
    screenshot(browser, "quote")
    browser.find_element(By.ID, "q-region").clear()
    browser.find_element(By.ID, "q-region").send_keys("ZZ", Keys.ENTER)
    alert = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#quote-result [role=alert]"))
    assert "destination_region_code" in alert.text


def test_destinations_are_searchable(browser: Any, console: tuple[str, dict[str, str]]) -> None:
    base, keys = console
    sign_in(browser, base, keys["analyst"])
    browser.get(base + "/destinations.html")
    browser.find_element(By.CSS_SELECTOR, "#dest-form button").click()
    wait_for(browser, lambda b: "destinations; data as of" in b.find_element(By.ID, "dest-summary").text)
    search = browser.find_element(By.ID, "dest-filter")
    search.send_keys("united")
    wait_for(browser, lambda b: "United Kingdom" in b.find_element(By.ID, "dest-result").text)
    shown = browser.find_element(By.ID, "dest-result").text
    assert "United States" in shown and "Germany" not in shown
    screenshot(browser, "destinations")
    # readable on a phone: on a 390 px wide screen the page needs no sideways scrolling
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        time.sleep(0.3)
        assert browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]") == [390, 390]
        browser.save_screenshot(str(SCREENSHOTS / "console_destinations_phone.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_rate_tables_compare_as_a_chart_and_diff_versions(browser: Any, console: tuple[str, dict[str, str]]) -> None:
    base, keys = console
    sign_in(browser, base, keys["analyst"])
    browser.get(base + "/tables.html")
    browser.find_element(By.ID, "t-region").send_keys("GB", Keys.ENTER)
    chart = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#compare-result svg"))
    assert len(chart.find_elements(By.TAG_NAME, "polyline")) >= 2
    assert "Price by weight to GB" in browser.find_element(By.ID, "compare-result").text
    screenshot(browser, "tables")
    # the versions of one product, and what changed between the two
    browser.find_element(By.CSS_SELECTOR, "#t-product option[value=PRODUCT_AIR_PACKET]").click()
    browser.find_element(By.CSS_SELECTOR, "#versions-form button").click()
    boxes = wait_for(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#versions-result input[name=pick]"))
    assert len(boxes) == 2
    for box in boxes:
        box.send_keys(Keys.SPACE)  # ticked from the keyboard
    browser.find_element(By.CSS_SELECTOR, "#diff-form button").click()
    caption = wait_for(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#diff-result caption"))
    assert "changed" in caption.text and "added" in caption.text
    assert browser.find_elements(By.CSS_SELECTOR, "#diff-result tbody tr")
