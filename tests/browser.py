"""Debian's chromium through Playwright, as the browser tests launch it (browser downloads fail here),
and a page that reports what went wrong in it."""

from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

#: Init scripts run outside the page's CSP; this one only listens, and reports a violation as an error.
REPORT_CSP_VIOLATIONS = (
    "document.addEventListener('securitypolicyviolation', e => console.error("
    "'CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")


def watched_page(context: Any, problems: list[str]) -> Any:
    """A new page of `context` that appends to `problems` every CSP violation, console error or warning
    and uncaught page error."""
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}")
            if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    return page
