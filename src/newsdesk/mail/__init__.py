"""Newsletters by e-mail: the pure parts and the SMTP edge.

    addresses.py  normalize_address: what a subscriber address may be (pure)
    tokens.py     signed, expiring confirm / unsubscribe / manage link tokens
    digest.py     select_digest_entries and digest_period: what a digest holds and when it is due (pure)
    render.py     render_digest / prepare_digest / render_confirmation: text + HTML mails, safe headers
    send.py       SmtpSettings, Mailer, send_concurrently: bounded retries, a result per recipient
    sink.py       SmtpSink: a local in-memory SMTP server for the demo and the tests

Importing this package imports none of them: each is imported where it is used.
"""
