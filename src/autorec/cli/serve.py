"""`autorec serve`: the HTTP service of a saved model (uvicorn running autorec.serve)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError

#: Nagle's algorithm off on every connection (serve/protocol.py says why)
HTTP_PROTOCOL = "autorec.serve.protocol:NoDelayHTTPProtocol"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    model: Path = typer.Option(..., "--model", "-m", help="A model folder (a run folder, its model/, an ensemble/)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; anything but loopback needs an API key."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    workers: int = typer.Option(1, "--workers", help="Worker processes (each loads the model)."),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="AUTOREC_API_KEY",
                                          help="Key every request must carry (X-API-Key); or $AUTOREC_API_KEY."),
    insecure: bool = typer.Option(False, "--insecure", help="Bind a non-loopback address without an API key."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Torch threads per worker (default: the cores "
                                                                  "divided among the workers)."),
) -> None:
    """Serve a saved model over HTTP: /predict, /recommend, /model, /health, /ready; OpenAPI at /docs."""
    import uvicorn

    from ..serve.app import ENV_KEY, ENV_MODEL, ENV_THREADS, create_app

    if not 1 <= port <= 65535:
        raise ConfigError(f"--port must be 1..65535, got {port}")
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    if not _is_loopback(host) and not api_key and not insecure:
        raise ConfigError(f"--host {host} is reachable from other machines: pass --api-key (or set AUTOREC_API_KEY), "
                          "or --insecure to serve it without one")
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {threads}")
    # workers share the machine's cores instead of each taking all of them
    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    app = create_app(model, api_key, threads if workers == 1 else None)  # a bad folder fails before binding
    typer.echo(f"autorec: serving {model} on http://{host}:{port} (docs at /docs)"
               f"{'' if api_key else ', no API key'}", err=True)
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning", http=HTTP_PROTOCOL)
        return
    os.environ[ENV_MODEL] = str(Path(model).resolve())
    os.environ[ENV_THREADS] = str(threads)
    if api_key:
        os.environ[ENV_KEY] = api_key
    uvicorn.run("autorec.serve.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning", http=HTTP_PROTOCOL)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
