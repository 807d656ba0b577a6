"""Entry point: `python -m app` serves the API with uvicorn."""

import os

import uvicorn

if __name__ == "__main__":
    uvicorn.run(
        "app.main:app",
        host="0.0.0.0",
        port=int(os.environ.get("API_INTERNAL_PORT", "8000")),
        workers=int(os.environ.get("API_WORKERS", "2")),
        log_level=os.environ.get("LOG_LEVEL", "info"),
        proxy_headers=True,
        # X-Forwarded-* only from these peers (the proxy; uvicorn's default, loopback, otherwise):
        # a client that reaches the API another way cannot name itself another address.
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
    )
