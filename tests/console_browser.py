"""Drives the gslb web console in headless Chromium (selenium + chromedriver) against a
running `gslb demo`: logs in with a token, sees the three regions and the health matrix,
drains one region (accepting the confirmation), sees it drained in the regions table and the
matrix and the override in the event history, sees the live answer for a client group,
opens every page, undrains, and saves a
screenshot of each page into the given directory.

Usage: python console_browser.py BASE_URL TOKEN SCREENSHOT_DIR REGION_TO_DRAIN
Exits non-zero (with the reason on stderr) on any failed expectation.
"""

import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

BASE, TOKEN, SHOTS, DRAIN = sys.argv[1:5]
REGIONS = {"us-east", "eu-west", "ap-south"}
WAIT_SECONDS = 90


def main():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000",
                 "--disable-dev-shm-usage"):
        options.add_argument(flag)
    binary = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
    if os.path.exists(binary):
        options.binary_location = binary
    driver_path = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        run(driver)
    finally:
        driver.quit()


def shot(driver, name):
    path = os.path.join(SHOTS, f"console-{name}.png")
    if not driver.save_screenshot(path):
        raise SystemExit(f"no screenshot {path}")
    print(f"screenshot {path}", flush=True)


def loaded(driver, page):
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") == page,
        f"page {page} never loaded")


def region_status(driver, region):
    cells = driver.find_elements(By.CSS_SELECTOR, f'#regions tr[data-region="{region}"] td[data-status]')
    return cells[0].get_attribute("data-status") if cells else None


def wait_for(driver, what, condition):
    WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.5,
                  ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: condition(), what)


def press_region_button(driver, region):
    """Clicks the region's Drain/Undrain button and accepts the confirmation; the table is
    re-rendered every few seconds, so a button replaced under the click is found again."""
    for _ in range(20):
        try:
            driver.find_element(By.CSS_SELECTOR, f'#regions tr[data-region="{region}"] button').click()
            break
        except StaleElementReferenceException:
            continue
    else:
        raise SystemExit(f"the {region} button kept being replaced")
    WebDriverWait(driver, WAIT_SECONDS).until(ec.alert_is_present())
    driver.switch_to.alert.accept()


def open_page(driver, page):
    driver.find_element(By.CSS_SELECTOR, f'nav button[data-page="{page}"]').click()
    loaded(driver, page)


def run(driver):
    driver.get(BASE + "/ui")
    WebDriverWait(driver, WAIT_SECONDS).until(ec.visibility_of_element_located((By.ID, "token")))
    if TOKEN in driver.current_url:
        raise SystemExit("token in the URL")
    shot(driver, "login")
    # A wrong token is refused and leaves the login form up.
    driver.find_element(By.ID, "token").send_keys("not-the-token-0123456789")
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: "refused" in d.find_element(By.ID, "login-error").text, "wrong token refused")
    driver.find_element(By.ID, "token").send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    loaded(driver, "health")
    if TOKEN in driver.current_url:
        raise SystemExit("token in the URL")
    stored = driver.execute_script("return sessionStorage.getItem('gslb-token')")
    if stored != TOKEN:
        raise SystemExit("token not in sessionStorage")

    seen = lambda: {row.get_attribute("data-region")
                    for row in driver.find_elements(By.CSS_SELECTOR, "#regions tr[data-region]")}
    wait_for(driver, "three regions", lambda: seen() == REGIONS)
    wait_for(driver, f"{DRAIN} up", lambda: region_status(driver, DRAIN) == "up")
    wait_for(driver, "a matrix row per endpoint", lambda: len(
        driver.find_elements(By.CSS_SELECTOR, "#matrix tr[data-endpoint]")) >= 3)
    wait_for(driver, "a matrix column per vantage", lambda: REGIONS <= {
        th.text for th in driver.find_elements(By.CSS_SELECTOR, "#matrix th")})
    shot(driver, "health")

    print(f"drain {DRAIN}", flush=True)
    press_region_button(driver, DRAIN)
    wait_for(driver, f"{DRAIN} drained", lambda: region_status(driver, DRAIN) == "drained")
    wait_for(driver, "the matrix shows the drain", lambda: any(
        "drained" in row.text for row in
        driver.find_elements(By.CSS_SELECTOR, f'#matrix tr[data-region="{DRAIN}"]')))
    shot(driver, "health-drained")

    open_page(driver, "events")
    wait_for(driver, "the drain in the event history", lambda: any(
        DRAIN in row.text and "active" in row.text for row in
        driver.find_elements(By.CSS_SELECTOR, '#events tr[data-kind="override"]')))
    shot(driver, "events")

    open_page(driver, "records")
    groups = driver.find_element(By.ID, "groups")
    groups.clear()
    groups.send_keys("198.51.100.0/24\t")
    wait_for(driver, "a column for the client group with an answer", lambda: any(
        th.text == "198.51.100.0/24" for th in driver.find_elements(By.CSS_SELECTOR, "#decisions th"))
        and any("192.0.2." in td.text for td in
                driver.find_elements(By.CSS_SELECTOR, '#decisions tr[data-record^="www."] td')))
    shot(driver, "records")
    for page in ("zones", "drills", "cluster"):
        open_page(driver, page)
        shot(driver, page)
    wait_for(driver, "every cluster member", lambda: len(
        driver.find_elements(By.CSS_SELECTOR, "#members tr[data-member]")) >= 5)

    open_page(driver, "health")
    wait_for(driver, f"{DRAIN} drained", lambda: region_status(driver, DRAIN) == "drained")
    press_region_button(driver, DRAIN)
    wait_for(driver, f"{DRAIN} undrained", lambda: region_status(driver, DRAIN) == "up")
    print("ok", flush=True)


if __name__ == "__main__":
    main()
