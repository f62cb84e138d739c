"""``foiawatch publish`` and ``foiawatch serve``: build the public database, and serve it read-only with Datasette."""

from __future__ import annotations

import click

from ..archive import DataDir
from ..archive.vocabulary import counted
from ..publish import build_public
from .options import (
    data_dir_option,
    echo_json,
    json_option,
    open_archive,
    public_url_option,
    served_data_dir_option,
)


@click.command()
@data_dir_option
@json_option
def publish(data_dir: DataDir, as_json: bool) -> None:
    """Build the public database (<data-dir>/public/public.db) from the archive.

    Only public tables and columns are copied; the text and bytes of files the PII screen withheld (or has not
    screened yet) are left out. A running `foiawatch serve` picks the new database up on its next request.
    """
    if data_dir.has_archive():
        open_archive(data_dir).close()  # an archive made by an older release is migrated first
    try:
        stats = build_public(data_dir)
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        echo_json({"path": str(stats.path), "seconds": round(stats.seconds, 3), "files": stats.files,
                   "withheld": stats.withheld, "rows": stats.rows})
        return
    tables = ", ".join(f"{name} {count:,}" for name, count in stats.rows.items())
    click.echo(f"Published {stats.path} in {stats.seconds:.1f}s: {counted(stats.files, 'file')} downloadable, "
               f"{stats.withheld:,} withheld.\n{tables}")


@click.command()
@served_data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8001, show_default=True, type=int)
@public_url_option
def serve(data_dir: DataDir, host: str, port: int, public_url: str | None) -> None:
    """Serve the public database read-only with Datasette: search, views, file downloads and a takedown feed.

    Nothing but the public database is reachable, not the archive's private tables nor private.db.
    """
    import uvicorn

    from ..publish.serve import PublicApp

    if not data_dir.public_db.is_file():
        raise click.ClickException(f"no public database in {data_dir}; run `foiawatch publish --data-dir {data_dir}`")
    bound = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    click.echo(f"Serving the public archive on {bound}/ (Ctrl-C to stop)")
    uvicorn.run(PublicApp(data_dir, public_url or bound), host=host, port=port, log_level="warning", lifespan="on")
