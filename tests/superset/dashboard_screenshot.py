"""Screenshot a Superset dashboard with headless Chromium (Debian's chromium + chromedriver).

Run with Superset's own Python (its venv has selenium):
    .superset-venv/bin/python tests/superset/dashboard_screenshot.py URL USER PASSWORD SLUG PNG
It logs in through the login form, opens the dashboard, waits until every chart has
rendered (no loading indicator, one chart container per chart), saves the PNG and
prints, as JSON, the chart titles found on the page and the number of charts drawn.
"""

import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def main(url: str, user: str, password: str, slug: str, png: str, timeout: float = 90.0) -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1800"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        wait = WebDriverWait(driver, timeout)
        driver.get(f"{url}/login/")
        wait.until(expected_conditions.element_to_be_clickable((By.ID, "username")))
        driver.find_element(By.ID, "username").send_keys(user)
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "[data-test=login-button]").click()
        wait.until(lambda d: "/login" not in d.current_url)
        driver.get(f"{url}/superset/dashboard/{slug}/")
        wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".dashboard-chart")))

        def rendered(d: webdriver.Chrome) -> bool:
            loading = d.find_elements(By.CSS_SELECTOR, "[data-test='loading-indicator'], .loading")
            drawn = d.find_elements(By.CSS_SELECTOR, ".dashboard-chart canvas, .dashboard-chart table, .dashboard-chart .big_number, .dashboard-chart .header-line")
            return not loading and len(drawn) > 0

        wait.until(rendered)
        time.sleep(2)  # ECharts animates its first draw
        driver.save_screenshot(png)
        titles = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[data-test='editable-title'], .editable-title, [data-test='slice-header'] .header-title")]
        errors = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[role='alert'], .alert-danger")]
        charts = len(driver.find_elements(By.CSS_SELECTOR, ".dashboard-chart"))
        print(json.dumps({"titles": titles, "charts": charts, "errors": errors, "text": driver.find_element(By.TAG_NAME, "body").text[:3000]}))
    finally:
        driver.quit()


if __name__ == "__main__":
    main(*sys.argv[1:6])
