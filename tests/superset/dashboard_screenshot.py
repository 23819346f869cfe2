"""Screenshot a Superset dashboard with headless Chromium (Debian's chromium + chromedriver).

Run with Superset's own Python (its venv has selenium):
    .superset-venv/bin/python tests/superset/dashboard_screenshot.py URL USER PASSWORD SLUG PNG
It logs in through the login form, opens the dashboard, waits until the charts have
rendered (no loading indicator left), saves the PNG and prints, as JSON, the chart
titles on the page, the number of charts, any error alerts, and two measures of the
image (its number of distinct colours, its share of pixels that are not the page
background) for the test to judge whether it is blank.
"""

import json
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DRAWN = "canvas, table, .header-line"


def main(url: str, user: str, password: str, slug: str, png: str, timeout: float = 90.0) -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,2000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        wait = WebDriverWait(driver, timeout)
        log_in(driver, url, user, password, timeout)
        driver.get(f"{url}/superset/dashboard/{slug}/")
        wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".dashboard-chart")))

        def rendered(d: webdriver.Chrome) -> bool:
            # every chart has drawn something: an ECharts canvas, a table or a big number
            loading = d.find_elements(By.CSS_SELECTOR, "[data-test='loading-indicator'], .loading")
            charts = d.find_elements(By.CSS_SELECTOR, ".dashboard-chart")
            drawn = [c for c in charts if c.find_elements(By.CSS_SELECTOR, DRAWN)]
            return not loading and len(drawn) == len(charts) > 0

        wait.until(rendered)
        time.sleep(2)  # ECharts animates its first draw
        driver.save_screenshot(png)
        titles = [
            e.text
            for e in driver.find_elements(
                By.CSS_SELECTOR,
                "[data-test='editable-title'], .editable-title, [data-test='slice-header'] .header-title",
            )
        ]
        errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[role='alert'], .alert-danger")]
        charts = len(driver.find_elements(By.CSS_SELECTOR, ".dashboard-chart"))
        print(json.dumps({"titles": titles, "charts": charts, "errors": errors, **image_measures(png)}))
    finally:
        driver.quit()


def log_in(driver: webdriver.Chrome, url: str, user: str, password: str, timeout: float) -> None:
    """Log in through the form; check the typed values before the click, and try again
    until ``timeout``.

    In one CI run the page never left /login within 90 s of the click, and nothing
    recorded why. The login page is a React form: typed into while it still renders, it
    can lose the values and post empty fields. A failure here now names the page's
    alerts (a wrong password among them).
    """
    deadline = time.monotonic() + timeout
    fields = {"username": user, "password": password}
    username_or_in = expected_conditions.any_of(
        expected_conditions.element_to_be_clickable((By.ID, "username")),
        lambda d: "/login" not in d.current_url,
    )
    while True:
        driver.get(f"{url}/login/")
        WebDriverWait(driver, timeout).until(username_or_in)
        if "/login" not in driver.current_url:
            return  # an earlier click's login finished after its wait: already in
        for name, value in fields.items():
            field = driver.find_element(By.ID, name)
            field.clear()
            field.send_keys(value)
        if all(
            driver.find_element(By.ID, name).get_attribute("value") == value for name, value in fields.items()
        ):
            driver.find_element(By.CSS_SELECTOR, "[data-test=login-button]").click()
            try:
                WebDriverWait(driver, 15).until(lambda d: "/login" not in d.current_url)
                return
            except TimeoutException:
                pass
        if time.monotonic() > deadline:
            alerts = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[role='alert'], .alert-danger")]
            raise RuntimeError(f"could not log in as {user}: still at {driver.current_url}; alerts: {alerts}")


def image_measures(png: str) -> dict[str, float]:
    """Distinct colours, and the share of pixels unlike the most common one (the background)."""
    from PIL import Image

    with Image.open(png) as image:
        pixels = image.convert("RGB")
        colours = pixels.getcolors(maxcolors=1 << 24) or []
    total = sum(count for count, _ in colours)
    background = max(count for count, _ in colours)
    return {"distinct_colours": len(colours), "foreground_share": 1 - background / total}


if __name__ == "__main__":
    main(*sys.argv[1:6])
