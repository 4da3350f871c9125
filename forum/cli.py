"""Command-line tools: `flask users ...` and `flask forum ...`."""

from __future__ import annotations

import os

import click
from flask.cli import AppGroup, with_appcontext

from .extensions import db
from .models import Role
from .services import accounts
from .services.errors import InvalidInput

users_cli = AppGroup("users", help="Manage accounts.")
forum_cli = AppGroup("forum", help="Demo data and imports.")
search_cli = AppGroup("search", help="The full-text search index.")
moderation_cli = AppGroup("moderation", help="Flags and sentiment.")


@click.group("worker", cls=AppGroup, invoke_without_command=True)
@click.option("--poll", type=float, default=0.1, show_default=True, help="Seconds between polls.")
@click.option("--exit-with-parent", is_flag=True, help="Stop when the starting process is gone.")
@click.pass_context
@with_appcontext
def worker_cli(ctx: click.Context, poll: float, exit_with_parent: bool) -> None:
    """Consume the outbox until stopped (SIGTERM or Ctrl-C): indexing, sentiment, flags,
    notifications and mail."""
    if ctx.invoked_subcommand is not None:
        return
    import signal

    from .worker import run

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    click.echo("Worker consuming the outbox (Ctrl-C to stop).")
    try:
        run(
            poll=poll,
            should_stop=lambda: bool(stopping),
            exit_with_parent=exit_with_parent,
            lane_process=True,
        )
    except KeyboardInterrupt:
        pass


@worker_cli.command("drain")
def worker_drain() -> None:
    """Consume everything pending now, then stop."""
    from .worker import drain

    click.echo(f"Processed {drain()} outbox rows.")


@worker_cli.command("tick")
def worker_tick() -> None:
    """Run the timed jobs once (nudges, digests) and send the mail that is due."""
    from .worker import send_mail, timed_jobs

    done = timed_jobs()
    click.echo(
        f"Nudged {done['nudged']} askers, sent {done['digests']} digests "
        f"and {send_mail()} notification mails."
    )


@worker_cli.command("status")
def worker_status() -> None:
    """Pending rows, and rows that keep failing (with their last error)."""
    from sqlalchemy import select

    from .models import OutboxEvent
    from .worker import MAX_ATTEMPTS, pending_count

    click.echo(f"pending: {pending_count()}")
    failing = db.session.scalars(
        select(OutboxEvent)
        .where(OutboxEvent.processed_at.is_(None), OutboxEvent.attempts > 0)
        .order_by(OutboxEvent.id)
        .limit(20)
    ).all()
    for row in failing:
        gave_up = " (gave up)" if row.attempts >= MAX_ATTEMPTS else ""
        click.echo(
            f"row {row.id} thread {row.question_id}: {row.attempts} tries{gave_up}: "
            f"{row.last_error}"
        )


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", "display_name", help="Display name (defaults to the e-mail's local part).")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.CUSTOMER.value)
@click.password_option(prompt="Password", envvar="FORUM_NEW_USER_PASSWORD")
def create_user(email: str, display_name: str | None, role: str, password: str) -> None:
    """Create an account with any role: the way to make staff and moderators."""
    try:
        user = accounts.register_user(
            email, display_name or email.split("@", 1)[0], password, Role(role)
        )
    except InvalidInput as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@forum_cli.command("seed-demo")
@click.option("--force", is_flag=True, help="Seed even if the database already has questions.")
def seed_demo(force: bool) -> None:
    """Fill an empty database with the project's own demo products, users and threads."""
    from .demo import seed_demo_data

    created = seed_demo_data(force=force)
    if created:
        click.echo(f"Seeded demo data: {created} questions.")
    else:
        click.echo("The database already has questions; nothing seeded (use --force).")


@forum_cli.command("import-stackexchange")
@click.argument("path", type=click.Path(exists=True))
def import_stackexchange(path: str) -> None:
    """Import one Stack Exchange site (folder of XML files or .7z archive) as one product."""
    from .importer import import_site

    with click.progressbar(length=0, label="Importing") as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        result = import_site(path, progress=progress)
    from .worker import drain, pending_count

    with click.progressbar(length=pending_count(), label="Indexing") as bar:
        while True:
            done = drain(limit=1)
            if not done:
                break
            bar.update(done)
    click.echo(
        f"Imported {result.site}: {result.questions} questions, {result.answers} answers, "
        f"{result.comments} comments, {result.users} users "
        f"({result.skipped} already present) in {result.seconds:.1f}s "
        f"({result.posts_per_second:.0f} posts/s)."
    )


@search_cli.command("reindex")
@click.option(
    "--procs",
    type=int,
    default=os.cpu_count() or 1,
    show_default=True,
    help="Processes that analyse and write the index in parallel.",
)
def search_reindex(procs: int) -> None:
    """Rebuild the search index beside the live one and swap it in; searches keep answering
    from the old one meanwhile, and changes made during the rebuild are caught up after."""
    reindex_with_progress(procs)


def reindex_with_progress(procs: int = 1) -> int:
    from .extensions import db
    from .search_sync import all_thread_ids, check_drift, get_index, iter_all_documents

    ids = all_thread_ids(db.session)
    db.session.rollback()  # each chunk reads afresh; changes after the start are caught up below
    with click.progressbar(length=len(ids), label="Indexing threads") as bar:
        count = get_index().rebuild(
            iter_all_documents(db.session, ids), progress=bar.update, procs=procs
        )
    db.session.rollback()
    report = check_drift(repair=True)  # what changed while building, by revision
    get_index().drop_old_generations()
    caught_up = sum(len(v) for v in report.values())
    click.echo(f"Indexed {count} threads; caught up {caught_up} changed during the rebuild.")
    embed_with_progress(ids)
    return count


def embed_with_progress(ids: list[int]) -> int:
    """Make the embeddings that are missing or out of date (none when embeddings are off)."""
    from . import embeddings
    from .extensions import db

    if not embeddings.enabled():
        return 0
    made = 0
    with click.progressbar(length=len(ids), label="Embedding threads") as bar:
        for start in range(0, len(ids), 256):
            chunk = ids[start : start + 256]
            made += embeddings.embed_threads(db.session, chunk)
            db.session.commit()
            bar.update(len(chunk))
    click.echo(f"Embedded {made} threads.")
    return made


@search_cli.command("embed")
def search_embed() -> None:
    """Make the thread embeddings that are missing or out of date (after turning them on)."""
    from .extensions import db
    from .search_sync import all_thread_ids

    embed_with_progress(all_thread_ids(db.session))


@search_cli.command("check")
@click.option("--no-repair", is_flag=True, help="Only report the drift.")
def search_check(no_repair: bool) -> None:
    """Report (and repair) threads missing from, stale in, or orphaned in the index."""
    from .search_sync import check_drift

    report = check_drift(repair=not no_repair)
    pending = report.pop("pending")
    for kind, ids in report.items():
        shown = ", ".join(map(str, ids[:20])) + (" …" if len(ids) > 20 else "")
        click.echo(f"{kind}: {len(ids)}" + (f" ({shown})" if ids else ""))
    if pending:
        click.echo(
            f"waiting for the worker: {len(pending)} (changes it has not indexed yet; it does "
            "within seconds while it runs, and `flask worker drain` does it now)"
        )
    drift = sum(len(ids) for ids in report.values())
    if not drift:
        click.echo("The index matches the database (by revision).")
    elif no_repair:
        raise click.ClickException(
            f"{drift} threads differ from the database; `flask search check` repairs them."
        )
    else:
        click.echo("Repaired.")


@moderation_cli.command("scan")
def moderation_scan() -> None:
    """Flag threads past the service level. Idempotent: safe to run from cron every minute."""
    from .services.moderation import scan

    counts = scan()
    db.session.commit()
    click.echo(
        f"Flagged {counts['unanswered']} unanswered and {counts['needs_staff']} "
        "negative threads with no staff reply."
    )


@moderation_cli.command("eval")
@click.argument("datafiles", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def moderation_eval(datafiles: tuple[str, ...]) -> None:
    """Precision, recall and F1 of the negative class on labelled files (UCI or VADER tweets)."""
    from pathlib import Path

    from moderation.evaluate import evaluate, load_labelled
    from moderation.sentiment import NEGATIVE_THRESHOLD

    click.echo(f"negative class: negativity >= {NEGATIVE_THRESHOLD}")
    click.echo(f"{'file':<40}{'n':>6}{'neg':>6}{'precision':>11}{'recall':>9}{'F1':>8}")
    for datafile in datafiles:
        rows = load_labelled(Path(datafile))
        if not rows:
            raise click.ClickException(f"{datafile}: no labelled rows in a known format")
        result = evaluate(Path(datafile).name, rows)
        click.echo(
            f"{result.name:<40}{result.examples:>6}{result.negatives:>6}"
            f"{result.precision:>11.3f}{result.recall:>9.3f}{result.f1:>8.3f}"
        )
