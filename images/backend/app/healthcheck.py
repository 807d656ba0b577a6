"""Container healthcheck: one line of output (the engine keeps it), exit 0 only on HTTP 200."""

import sys
import urllib.error
import urllib.request

URL = "http://127.0.0.1:8000/health"

try:
    with urllib.request.urlopen(URL, timeout=3) as response:
        print(f"HTTP {response.status}")
except urllib.error.HTTPError as exc:
    print(f"HTTP {exc.code}: {exc.read(300).decode('utf-8', 'replace')}")
    sys.exit(1)
except OSError as exc:
    print(f"no answer from {URL}: {exc}")
    sys.exit(1)
