"""The dashboard and the JSON API: FastAPI over :mod:`elforge.web.queries`.

Every page has a JSON twin under ``/api``; FastAPI publishes the OpenAPI schema at
``/openapi.json``. Everything is read-only except ``POST /api/runs``,
which needs the workspace's ``[serve] token``. Pages are Jinja2 templates with autoescaping on
(package summaries, changelogs, advisory text and patch-config strings are untrusted) and go
out with a Content-Security-Policy that allows no inline script: the page script is a static
file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from elforge import __version__
from elforge.sources.sbom import SbomFormat
from elforge.store.db import Store
from elforge.web import queries, runs
from elforge.web.details import PackageDetail, package_detail
from elforge.web.files import inside
from elforge.web.readmodel import ReadModel
from elforge.web.render import STATIC, page
from elforge.web.security import SecurityView, security_view

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class ServeContext:
    """What the app serves: one workspace's store, its reports folder and its run token."""

    root: Path
    name: str
    store: Store
    model: ReadModel  # the packages' current state, caught up with the store per request
    token: str | None
    configured: tuple[str, ...]  # package names in elforge.toml


class RunRequest(BaseModel):
    packages: list[str] = Field(default_factory=list, description="only these packages")
    stages: list[str] = Field(default_factory=list, description="subset of the run's stages")


@dataclass(frozen=True)
class PackagesResponse:
    packages: list[queries.PackageRow]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class StartedResponse:
    run_id: int
    url: str


def package_filter(
    name: str = "", stage: str | None = None, state: str | None = None,
    category: str | None = None, problems: bool = False, sort: str = "name",
    order: str = "asc", page: int = Query(1, ge=1, le=10**9),
    per_page: int = Query(50, ge=1, le=queries.MAX_PAGE),
) -> queries.PackageFilter:  # fmt: skip
    """The package table's query string (the page's form and the API share it)."""
    return queries.PackageFilter(
        name=name.strip()[:255],
        stage=stage or None,
        state=(state or "").strip()[:32] or None,
        category=category or None,
        problems=problems,
        sort=sort if sort in queries.SORT_KEYS else "name",
        descending=order == "desc",
        offset=(page - 1) * per_page,
        limit=per_page,
    )


FilterParams = Annotated[queries.PackageFilter, Depends(package_filter)]


def create_app(ctx: ServeContext) -> FastAPI:
    app = FastAPI(
        title="elforge",
        version=__version__,
        description="The state of an elforge workspace: packages, runs, security parity.",
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; the schema is at /openapi.json
        redoc_url=None,
    )

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _page_routes(app, ctx)
    _api_routes(app, ctx)
    return app


def _detail(ctx: ServeContext, name: str) -> PackageDetail:
    record = queries.package_record(ctx.store, name)
    if record is None:
        raise HTTPException(404, "no such package in the store")
    return package_detail(ctx.root, record)


def _security(ctx: ServeContext) -> SecurityView:
    return security_view(queries.advisories(ctx.store), queries.stored_parity(ctx.store))


def _run(ctx: ServeContext, run_id: int) -> queries.RunDetail:
    detail = queries.run_detail(ctx.model, run_id)
    if detail is None:
        raise HTTPException(404, "no such run")
    return detail


def _page_routes(app: FastAPI, ctx: ServeContext) -> None:
    common: dict[str, Any] = {"workspace": ctx.name, "link_for": _report_link}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview_page() -> HTMLResponse:
        data = queries.overview(ctx.model)
        return page("overview.html.j2", **common, overview=data, configured=len(ctx.configured))

    @app.get("/packages", response_class=HTMLResponse, include_in_schema=False)
    def packages_page(request: Request, flt: FilterParams) -> HTMLResponse:
        result = queries.package_page(ctx.model, flt)
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
        query = urlencode(kept) + "&" if kept else ""
        return page("packages.html.j2", **common, result=result, query=query)

    @app.get("/packages/{name}", response_class=HTMLResponse, include_in_schema=False)
    def package_page(name: str) -> HTMLResponse:
        return page("package.html.j2", **common, detail=_detail(ctx, name))

    @app.get("/security", response_class=HTMLResponse, include_in_schema=False)
    def security_page() -> HTMLResponse:
        errata = queries.own_errata(ctx.store)
        return page("security.html.j2", **common, security=_security(ctx), errata=errata)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs_page() -> HTMLResponse:
        return page("runs.html.j2", **common, runs=queries.recent_runs(ctx.model, limit=100))

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(run_id: int) -> HTMLResponse:
        return page("run.html.j2", **common, detail=_run(ctx, run_id))

    @app.get("/reports/{path:path}", include_in_schema=False)
    def report_file(path: str) -> FileResponse:
        """A report file under the workspace's ``reports/``, never anything else."""
        found = inside(ctx.root / "reports", ctx.root / "reports" / path)
        if found is None or not found.is_file():
            raise HTTPException(404, "no such report file")
        kind = "application/json" if found.suffix == ".json" else "text/plain; charset=utf-8"
        if found.suffix == ".svg":
            kind = "image/svg+xml"
        return FileResponse(found, media_type=kind)


def _report_link(relative: str) -> str | None:
    """The URL of a workspace file the server hands out: only those under ``reports/``."""
    return "/" + quote(relative) if relative.startswith("reports/") else None


def _api_routes(app: FastAPI, ctx: ServeContext) -> None:
    @app.get("/api/overview")
    def api_overview() -> queries.Overview:
        return queries.overview(ctx.model)

    @app.get("/api/packages")
    def api_packages(flt: FilterParams) -> PackagesResponse:
        result = queries.package_page(ctx.model, flt)
        return PackagesResponse(result.packages, result.total, result.offset, result.limit)

    @app.get("/api/packages/{name}")
    def api_package(name: str) -> PackageDetail:
        return _detail(ctx, name)

    @app.get("/api/packages/{name}/sbom")
    def api_sbom(name: str, format: SbomFormat = SbomFormat.cyclonedx) -> Response:
        text = queries.package_sbom(ctx.store, name, format, namespace=ctx.name)
        if text is None:
            raise HTTPException(404, "no successful import of this package is recorded")
        return Response(text, media_type="application/json")

    @app.get("/api/security")
    def api_security() -> SecurityView:
        return _security(ctx)

    @app.get("/api/errata")
    def api_errata() -> list[queries.ErratumView]:
        return queries.own_errata(ctx.store)

    @app.get("/api/watch")
    def api_watch(limit: int = Query(50, ge=1, le=1000)) -> list[queries.WatchEventRow]:
        return queries.watch_events(ctx.store, limit=limit)

    @app.get("/api/runs")
    def api_runs(limit: int = Query(20, ge=1, le=500)) -> list[queries.RunRow]:
        return queries.recent_runs(ctx.model, limit=limit)

    @app.get("/api/runs/{run_id}")
    def api_run(run_id: int) -> queries.RunDetail:
        return _run(ctx, run_id)

    @app.get("/api/runs/{run_id}/events", response_class=StreamingResponse)
    def api_run_events(run_id: int) -> StreamingResponse:
        _run(ctx, run_id)
        return StreamingResponse(
            runs.progress_events(ctx.model, run_id),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @app.post("/api/runs", status_code=202)
    def api_start_run(
        body: RunRequest, authorization: Annotated[str | None, Header()] = None
    ) -> StartedResponse:
        if not ctx.token:
            raise HTTPException(403, "starting runs is off: no [serve] token in elforge.toml")
        if not runs.token_matches(ctx.token, authorization):
            raise HTTPException(
                401, "a valid bearer token is needed", {"WWW-Authenticate": "Bearer"}
            )
        unknown = [p for p in body.packages if p not in ctx.configured][:5]
        bad_stages = [s for s in body.stages if s not in runs.RUN_STAGES][:5]
        if unknown or bad_stages:
            raise HTTPException(422, f"unknown packages {unknown} or stages {bad_stages}")
        started = runs.start_run(ctx.store, ctx.root, body.packages, body.stages)
        if started.run_id is None:
            raise HTTPException(409, started.error or "the run did not start in time")
        return StartedResponse(started.run_id, f"/runs/{started.run_id}")
