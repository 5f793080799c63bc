"""The state database's tables (SQLAlchemy 2 declarative). Schema changes go through Alembic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Package(Base):
    __tablename__ = "packages"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    imports: Mapped[list[UpstreamImport]] = relationship(back_populates="package")


class UpstreamImport(Base):
    """One import of one package's upstream at one commit, with its provenance."""

    __tablename__ = "upstream_imports"
    __table_args__ = (UniqueConstraint("package_id", "branch", "input_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    branch: Mapped[str] = mapped_column(String(255))
    nvr: Mapped[str | None] = mapped_column(String(512))
    upstream_url: Mapped[str] = mapped_column(Text)
    upstream_commit: Mapped[str | None] = mapped_column(String(64))
    tag: Mapped[str | None] = mapped_column(String(512))
    srpm_sha256: Mapped[str | None] = mapped_column(String(64))
    signing_key: Mapped[str | None] = mapped_column(String(64))
    sources: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    input_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    package: Mapped[Package] = relationship(back_populates="imports")
    # added by migration sources_0001
    layout: Mapped[str | None] = mapped_column(String(16))
    mirror_commit: Mapped[str | None] = mapped_column(String(64))


class PatchResult(Base):
    __tablename__ = "patch_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    branch: Mapped[str] = mapped_column(String(255))
    nvr: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(32))
    input_hash: Mapped[str] = mapped_column(String(64), index=True)
    actions: Mapped[list[Any]] = mapped_column(default=list)
    diagnostics: Mapped[list[Any]] = mapped_column(default=list)
    commit: Mapped[str | None] = mapped_column(String(64))
    tag: Mapped[str | None] = mapped_column(String(512))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Build(Base):
    __tablename__ = "builds"
    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    nvr: Mapped[str | None] = mapped_column(String(512))
    input_hash: Mapped[str] = mapped_column(String(64), index=True)
    builder: Mapped[str] = mapped_column(String(32))
    command: Mapped[str] = mapped_column(Text)
    log_path: Mapped[str | None] = mapped_column(Text)
    duration: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    buildroot: Mapped[list[Any]] = mapped_column(default=list)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    artifacts: Mapped[list[Artifact]] = relationship(back_populates="build")


class Artifact(Base):
    __tablename__ = "artifacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id"), index=True)
    filename: Mapped[str] = mapped_column(String(512))
    nevra: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    build: Mapped[Build] = relationship(back_populates="artifacts")


class Comparison(Base):
    """A verification result: ABI diff, kABI diff, closure, parity…"""

    __tablename__ = "comparisons"
    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(Text)
    candidate: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(32))
    input_hash: Mapped[str] = mapped_column(String(64), index=True)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Advisory(Base):
    __tablename__ = "advisories"
    __table_args__ = (UniqueConstraint("source", "advisory_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    advisory_id: Mapped[str] = mapped_column(String(128), index=True)
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(32))
    severity: Mapped[str | None] = mapped_column(String(32))
    issued: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cves: Mapped[list[Any]] = mapped_column(default=list)
    packages: Mapped[list[Any]] = mapped_column(default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PipelineRun(Base):
    """One ``elforge run``: started, finished (or not, when it was killed), and its summary."""

    __tablename__ = "pipeline_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    started: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(32), default="running")
    executor: Mapped[str] = mapped_column(String(255))
    stages: Mapped[list[Any]] = mapped_column(default=list)
    packages: Mapped[list[Any] | None] = mapped_column(JSON)  # planned at the start (None: older)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class StageRun(Base):
    """The outcome of one stage for one package (or the whole run), keyed by its input hash.

    The engine reuses an outcome whose input hash matches instead of running the stage again;
    ``subject`` is the package name, or ``*`` for a stage over all packages (publish).
    """

    __tablename__ = "stage_runs"
    __table_args__ = (UniqueConstraint("subject", "stage", "input_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("packages.id"), index=True)
    subject: Mapped[str] = mapped_column(String(255), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    input_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    output: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    duration: Mapped[float | None] = mapped_column(Float)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_runs.id"))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


def package_row(session: Session, name: str) -> Package:
    """The ``packages`` row for ``name``, created (and flushed for its id) when new."""
    pkg = session.scalar(select(Package).where(Package.name == name))
    if pkg is None:
        pkg = Package(name=name)
        session.add(pkg)
        session.flush()
    return pkg


class ErratumRow(Base):
    """One advisory of the rebuild's own (``elforge errata generate``), by its id."""

    __tablename__ = "errata"
    id: Mapped[int] = mapped_column(primary_key=True)
    advisory_id: Mapped[str] = mapped_column(String(128), unique=True, index=True)
    reference_id: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    cves: Mapped[list[Any]] = mapped_column(default=list)
    references: Mapped[list[Any]] = mapped_column(default=list)
    packages: Mapped[list[Any]] = mapped_column(default=list)
    issued: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    issued_source: Mapped[str | None] = mapped_column(String(32))
    updated: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reference_issued: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fingerprint: Mapped[str] = mapped_column(String(64))
    modified: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UpstreamEvent(Base):
    """One upstream change ``elforge watch`` noticed: commit time, when noticed, when published.

    ``token`` is what identifies the upstream state (a commit id, an SRPM digest, a tree hash).
    """

    __tablename__ = "upstream_events"
    __table_args__ = (UniqueConstraint("package", "token"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    package: Mapped[str] = mapped_column(String(255), index=True)
    url: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(String(255))
    token: Mapped[str] = mapped_column(String(128))
    old_token: Mapped[str | None] = mapped_column(String(128))
    old_nvr: Mapped[str | None] = mapped_column(String(512))
    nvr: Mapped[str | None] = mapped_column(String(512), index=True)
    commit_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    noticed: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
