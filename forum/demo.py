"""The project's own demo content: products, users of every role, threads in every state."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from .extensions import db
from .models import Comment, Product, Question, Role, utcnow
from .services import accounts, marks, posting, votes

DEMO_PASSWORD = "demo-password"

PRODUCTS = [
    ("Lumen Smart Bulb", "lumen-bulb", "Colour smart bulbs with an app and voice control."),
    ("Orbit Mesh Router", "orbit-router", "Home mesh Wi-Fi: router, satellites and the Orbit app."),
    ("PocketPay", "pocketpay", "The PocketPay wallet app, cards and subscriptions."),
]

USERS = [
    ("alice@example.com", "Alice Martin", Role.CUSTOMER),
    ("bruno@example.com", "Bruno Okafor", Role.CUSTOMER),
    ("chen@example.com", "Chen Wei", Role.CUSTOMER),
    ("dana@example.com", "Dana (Support)", Role.STAFF),
    ("moe@example.com", "Moe (Moderator)", Role.MODERATOR),
    ("admin@example.com", "Site Admin", Role.ADMIN),
]

# (product slug, asker, title, body, tags, answers [(author, body)], accepted index, comments)
THREADS = [
    (
        "lumen-bulb",
        "alice@example.com",
        "Bulb blinks three times and won't pair with the app",
        "I bought two Lumen bulbs yesterday. One paired fine, the other blinks three times and "
        "the app says *device not found*. I have tried turning it off and on.\n\nAny ideas?",
        "pairing setup",
        [
            (
                "bruno@example.com",
                "Three blinks means it is still bound to another account. Reset it: switch it "
                "**off and on five times**, leaving it on for about a second each time, until it "
                "flashes white. Then pair again.",
            ),
            ("chen@example.com", "Also check your phone is on the 2.4 GHz network, not 5 GHz."),
        ],
        0,
        ["Thanks, the five-times reset worked!"],
    ),
    (
        "lumen-bulb",
        "chen@example.com",
        "Can I set a sunrise schedule for the bedroom bulbs?",
        "I'd like the bedroom lights to fade in slowly at 6:30 on weekdays. Is there a way to do "
        "that in the app, or do I need a voice assistant?",
        "schedules automation",
        [
            (
                "alice@example.com",
                "Yes: *Routines → New → Wake up*. Pick the bulbs, the days and a fade time "
                "of up to 30 minutes. No voice assistant needed.",
            )
        ],
        None,
        [],
    ),
    (
        "orbit-router",
        "bruno@example.com",
        "Satellite keeps dropping to an orange light every evening",
        "My Orbit satellite in the living room goes orange around 8 pm most evenings and the TV "
        "loses its connection. The router is two rooms away. Firmware is up to date.",
        "mesh wifi satellite",
        [],
        None,
        [],
    ),
    (
        "orbit-router",
        "alice@example.com",
        "How do I set up a guest network with its own password?",
        "Friends visit often and I don't want to hand out my main Wi-Fi password. Does the "
        "Orbit app support a separate guest network?",
        "guest-network wifi",
        [
            (
                "dana@example.com",
                "It does. In the Orbit app open **Settings → Guest network**, switch it on "
                "and choose a name and password. Guests can reach "
                "the internet but not your devices.\n\n"
                "Dana, Orbit support",
            )
        ],
        0,
        ["Perfect, exactly what I needed."],
    ),
    (
        "pocketpay",
        "chen@example.com",
        "Charged twice for my subscription and still waiting for a refund",
        "This is the third time I ask. I was charged twice for the annual plan on the 3rd and "
        "nobody has answered my emails. I want a refund now or I will cancel my account. "
        "This is ridiculous and unacceptable.",
        "billing refund",
        [],
        None,
        [],
    ),
    (
        "pocketpay",
        "bruno@example.com",
        "Where can I download my monthly statements as PDF?",
        "My accountant needs PDF statements for the last quarter. I can see the transactions in "
        "the app but can't find an export.",
        "statements export",
        [
            (
                "alice@example.com",
                "On the website (not the app): *Account → Statements*, pick the month and press "
                "**Download PDF**.",
            ),
            (
                "dana@example.com",
                "Adding to Alice's answer: the app gets the same export in the next release. Until "
                "then the website is the way to go.",
            ),
        ],
        None,
        ["Thank you both, found them."],
    ),
]


def seed_demo_data(force: bool = False) -> int:
    """Create the demo content if the database has no questions yet. Returns questions made."""
    if not force and db.session.scalar(select(func.count(Question.id))):
        return 0
    products = {}
    for name, slug, description in PRODUCTS:
        product = db.session.scalar(select(Product).where(Product.slug == slug))
        if product is None:
            product = Product(name=name, slug=slug, description=description)
            db.session.add(product)
        products[slug] = product
    db.session.commit()

    users = {}
    for email, name, role in USERS:
        user = accounts.find_user_by_email(email)
        users[email] = user or accounts.register_user(email, name, DEMO_PASSWORD, role)

    now = utcnow()
    for age, (slug, asker, title, body, tags, answers, accepted, comments) in enumerate(
        reversed(THREADS)
    ):
        question = posting.ask_question(users[asker], products[slug].id, title, body, tags)
        posted = [posting.post_answer(users[author], question.id, text) for author, text in answers]
        for text in comments:
            posting.post_comment(users[asker], question.id, text)
        if accepted is not None:
            marks.accept_answer(users[asker], posted[accepted])
        # Staff stamp their own answers as the official ones.
        for answer in posted:
            if answer.author.is_staff:
                marks.verify_answer(answer.author, answer, "Official answer from the support team.")
        # A few community votes, so scores and the votes sort mean something.
        voters = [u for u in users.values() if u.role == Role.CUSTOMER.value]
        for rank, answer in enumerate(posted):
            for voter in voters[: max(0, len(voters) - rank)]:
                if voter.id != answer.author_id:
                    votes.cast_vote(voter, answer, "up")
        # Spread the threads over the last days so lists and ages look real.
        asked = now - timedelta(days=age + 1, hours=3 * age)
        replies = [asked + timedelta(hours=2 * (i + 1)) for i in range(len(posted))]
        for answer, when in zip(posted, replies, strict=True):
            answer.created_at = when
        db.session.execute(
            update(Comment)
            .where(Comment.question_id == question.id)
            .values(created_at=asked + timedelta(hours=2 * len(posted) + 1))
        )
        last = asked + timedelta(hours=2 * len(posted) + (1 if comments else 0))
        db.session.execute(
            update(Question)
            .where(Question.id == question.id)
            .values(created_at=asked, last_activity_at=last)
        )
        db.session.commit()
    return len(THREADS)
