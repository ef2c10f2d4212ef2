"""CI installs chromium before the tests and makes the browser test mandatory in both runs."""

from tests.explain.models import ROOT


def test_ci_installs_chromium_and_requires_the_browser_test():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    install = lines.index("bash tests/browser/ensure_chromium.sh")
    require = lines.index("export LOGDEPTH_REQUIRE_BROWSER=1")
    runs = [k for k, line in enumerate(lines) if "pytest" in line and "venv" in line]
    assert len(runs) == 2 and install < require < min(runs)  # both runs require the browser
