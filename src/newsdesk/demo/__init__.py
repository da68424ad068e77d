"""The offline demo: a bundled sample news site (site/) and the local server that serves it.

`newsdesk demo` starts `DemoSite` on 127.0.0.1 and ingests it through the same code path as a
real site, so the whole pipeline can be shown without any network.
"""

from .server import DemoSite

__all__ = ["DemoSite"]
