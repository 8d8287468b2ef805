"""The app in a process of its own, for tests that need several server processes on one database.

    python -m tests.surveys.serve_app --database-url URL [--surveys JSON]

Prints `listening on http://127.0.0.1:<port>` once it accepts connections, then serves until it
is terminated. The service secret comes from the environment, as in production.
"""
from __future__ import annotations

import argparse
import json
import sys

from werkzeug.serving import make_server

from app import create_app
from tests.surveys.helpers import _LateBoundApp, build_settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--surveys", default="{}", help="the [surveys] table as JSON")
    args = parser.parse_args()
    holder = _LateBoundApp()
    server = make_server("127.0.0.1", 0, holder, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    holder.app = create_app(build_settings(args.database_url, public_url=url, surveys=json.loads(args.surveys)))
    print(f"listening on {url}", flush=True)
    server.serve_forever(poll_interval=0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
