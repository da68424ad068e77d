"""Signed link tokens: purpose-bound, expiring, and harmless when replayed."""

from datetime import UTC, datetime

import pytest
from itsdangerous import TimestampSigner

from newsdesk.errors import InvalidTokenError
from newsdesk.mail.tokens import MAX_AGE, check_current, make_token, read_token
from newsdesk.models import Subscription, SubscriptionStatus

SECRET = "s3cret-key-for-tests"


def sub(version: int = 0, status: SubscriptionStatus = SubscriptionStatus.PENDING) -> Subscription:
    return Subscription(id=42, newsletter_id=7, address="jan@example.org", status=status,
                        created_at=datetime(2026, 1, 1, tzinfo=UTC), token_version=version)


def test_round_trip_for_every_purpose():
    for purpose in ("confirm", "unsubscribe", "manage"):
        token = make_token(SECRET, purpose, 42, "jan@example.org", version=3)
        assert all(c.isalnum() or c in "-_." for c in token)  # URL-path safe
        data = read_token(SECRET, purpose, token)
        assert (data.purpose, data.subscription_id, data.version) == (purpose, 42, 3)
        assert data.address == "jan@example.org"
        assert abs((datetime.now(UTC) - data.issued_at).total_seconds()) < 5


def test_wrong_purpose_is_refused():
    token = make_token(SECRET, "unsubscribe", 42, "jan@example.org")
    with pytest.raises(InvalidTokenError):
        read_token(SECRET, "confirm", token)
    with pytest.raises(InvalidTokenError):
        read_token(SECRET, "manage", token)


@pytest.mark.parametrize("mangle", [
    lambda t: t.rsplit(".", 1)[0] + "." + "A" * 27,  # another signature
    lambda t: t[:5] + ("A" if t[5] != "A" else "B") + t[6:],  # payload changed
    lambda t: "x" + t,
    lambda t: t.replace(".", "", 1),
    lambda t: "",
    lambda t: "a" * 5000,
    lambda t: "not.a.token",
])
def test_forged_tokens_are_refused(mangle):
    token = make_token(SECRET, "confirm", 42, "jan@example.org")
    with pytest.raises(InvalidTokenError) as info:
        read_token(SECRET, "confirm", mangle(token))
    assert info.value.kind == "invalid_token"


def test_a_token_signed_with_another_key_is_refused():
    token = make_token("another-key", "confirm", 42, "jan@example.org")
    with pytest.raises(InvalidTokenError):
        read_token(SECRET, "confirm", token)


def test_payload_cannot_be_edited_without_the_key():
    import base64
    import json

    token = make_token(SECRET, "unsubscribe", 42, "jan@example.org")
    payload, rest = token.split(".", 1)
    forged = base64.urlsafe_b64encode(json.dumps([43, "piet@example.org", 0]).encode()).decode().rstrip("=")
    with pytest.raises(InvalidTokenError):
        read_token(SECRET, "unsubscribe", forged + "." + rest)


def test_confirm_tokens_expire_after_48_hours_unsubscribe_tokens_last(monkeypatch):
    three_days_ago = int(datetime.now(UTC).timestamp()) - 3 * 86400
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: three_days_ago)
    confirm = make_token(SECRET, "confirm", 42, "jan@example.org")
    unsubscribe = make_token(SECRET, "unsubscribe", 42, "jan@example.org")
    monkeypatch.undo()
    with pytest.raises(InvalidTokenError, match="expired"):
        read_token(SECRET, "confirm", confirm)
    assert read_token(SECRET, "unsubscribe", unsubscribe).subscription_id == 42
    assert MAX_AGE["confirm"] == 48 * 3600 and MAX_AGE["unsubscribe"] >= 365 * 86400
    with pytest.raises(InvalidTokenError, match="expired"):
        read_token(SECRET, "unsubscribe", unsubscribe, max_age=86400)


def test_replayed_confirm_after_unsubscribe_does_nothing():
    token = make_token(SECRET, "confirm", 42, "jan@example.org", version=0)
    data = read_token(SECRET, "confirm", token)
    check_current(data, sub(version=0))  # first use: fine
    # the subscriber unsubscribed: the version was bumped, the old confirm link is dead
    with pytest.raises(InvalidTokenError, match="no longer valid"):
        check_current(data, sub(version=1, status=SubscriptionStatus.UNSUBSCRIBED))


def test_unsubscribe_links_in_old_mails_keep_working_after_a_resubscribe():
    token = make_token(SECRET, "unsubscribe", 42, "jan@example.org", version=0)
    data = read_token(SECRET, "unsubscribe", token)
    check_current(data, sub(version=2, status=SubscriptionStatus.ACTIVE))


def test_token_must_match_the_stored_subscription():
    data = read_token(SECRET, "manage", make_token(SECRET, "manage", 42, "piet@example.org"))
    with pytest.raises(InvalidTokenError):
        check_current(data, sub())
    data = read_token(SECRET, "manage", make_token(SECRET, "manage", 41, "jan@example.org"))
    with pytest.raises(InvalidTokenError):
        check_current(data, sub())


def test_bad_purpose_or_empty_key_is_a_programming_error():
    with pytest.raises(ValueError):
        make_token(SECRET, "delete-everything", 1, "a@b.nl")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make_token("", "confirm", 1, "a@b.nl")


def test_make_link_builds_a_url_the_token_reads_back_from():
    from newsdesk.mail.tokens import make_link

    url = make_link("https://news.example/", SECRET, "confirm", sub(version=4))
    assert url.startswith("https://news.example/newsletters/confirm/")
    data = read_token(SECRET, "confirm", url.rsplit("/", 1)[1])
    check_current(data, sub(version=4))
