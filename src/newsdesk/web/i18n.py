"""Interface labels in English and Dutch, and the choice of language for a request.

Labels are a plain dict per language; a missing Dutch label falls back to English, so a new label
never breaks a page. Article text is never translated, only the interface around it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

__all__ = ["LANGUAGES", "LANGUAGE_COOKIE", "Labels", "choose_language", "format_count", "format_time", "labels_for"]

LANGUAGES = ("en", "nl")
LANGUAGE_COOKIE = "newsdesk_lang"

_EN: dict[str, str] = {
    "home": "Home",
    "sources": "Sources",
    "search": "Search",
    "search_placeholder": "Search articles",
    "previous": "Previous",
    "next": "Next",
    "older": "Older",
    "newer": "Newer",
    "source": "Source",
    "latest": "Latest news",
    "no_articles": "No articles yet.",
    "no_results": "Nothing found.",
    "results": "{count} results for “{query}”",
    "result": "1 result for “{query}”",
    "results_more": "More than {count} results for “{query}”",
    "search_hint": "Search titles and article text.",
    "by": "By",
    "not_extracted": "The full article could not be collected; this is the feed's summary.",
    "reason": "Reason",
    "read_original": "Read it at the source",
    "language": "Language",
    "skip": "Skip to content",
    "keys_hint": "Keys: j/k next/previous, o open",
    "admin_title": "Sources",
    "add_source": "Add a source",
    "url": "Web address (feed, site or home page)",
    "category": "Category (optional)",
    "add": "Add",
    "pause": "Pause",
    "resume": "Resume",
    "remove": "Remove",
    "remove_confirm": "Remove this source and all its articles",
    "name": "Name",
    "kind": "Kind",
    "articles": "Articles",
    "last_fetch": "Last fetch",
    "next_fetch": "Next fetch",
    "state": "State",
    "last_error": "Last error",
    "paused": "Paused",
    "active": "Active",
    "never": "never",
    "due_now": "due now",
    "none": "none",
    "no_sources": "No sources yet. Add one below.",
    "added": "Added: {name}",
    "url_missing": "Give the web address of a feed or site.",
    "removed": "Removed.",
    "updated": "Updated.",
    "admin_unavailable": "Adding and changing sources is not available in this server.",
    "error_title": "Something went wrong",
    "unavailable": "Not available",
    "conflict": "Already there",
    "not_found": "Not found",
    "not_found_text": "There is nothing at this address.",
    "bad_request": "Bad request",
    "bad_request_text": "The address or form could not be read.",
    "forbidden": "Forbidden",
    "forbidden_text": "You may not open this page.",
    "server_error_text": "The server met an error. It has been logged.",
    "back_home": "Back to the home page",
    "just_now": "just now",
    "minutes_ago": "{n} min ago",
    "hours_ago": "{n} h ago",
    "in_minutes": "in {n} min",
    "in_hours": "in {n} h",
    "months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
}

_NL: dict[str, str] = {
    "home": "Home",
    "sources": "Bronnen",
    "search": "Zoeken",
    "search_placeholder": "Zoek in artikelen",
    "previous": "Vorige",
    "next": "Volgende",
    "older": "Ouder",
    "newer": "Nieuwer",
    "source": "Bron",
    "latest": "Laatste nieuws",
    "no_articles": "Nog geen artikelen.",
    "no_results": "Niets gevonden.",
    "results": "{count} resultaten voor „{query}”",
    "result": "1 resultaat voor „{query}”",
    "results_more": "Meer dan {count} resultaten voor „{query}”",
    "search_hint": "Zoek in titels en artikeltekst.",
    "by": "Door",
    "not_extracted": "Het volledige artikel kon niet worden opgehaald; dit is de samenvatting uit de feed.",
    "reason": "Reden",
    "read_original": "Lees het bij de bron",
    "language": "Taal",
    "skip": "Naar de inhoud",
    "keys_hint": "Toetsen: j/k volgende/vorige, o openen",
    "admin_title": "Bronnen",
    "add_source": "Bron toevoegen",
    "url": "Webadres (feed, site of homepage)",
    "category": "Categorie (optioneel)",
    "add": "Toevoegen",
    "pause": "Pauzeren",
    "resume": "Hervatten",
    "remove": "Verwijderen",
    "remove_confirm": "Deze bron en al haar artikelen verwijderen",
    "name": "Naam",
    "kind": "Soort",
    "articles": "Artikelen",
    "last_fetch": "Laatst opgehaald",
    "next_fetch": "Volgende keer",
    "state": "Status",
    "last_error": "Laatste fout",
    "paused": "Gepauzeerd",
    "active": "Actief",
    "never": "nooit",
    "due_now": "nu aan de beurt",
    "none": "geen",
    "no_sources": "Nog geen bronnen. Voeg er hieronder een toe.",
    "added": "Toegevoegd: {name}",
    "url_missing": "Geef het webadres van een feed of site.",
    "removed": "Verwijderd.",
    "updated": "Bijgewerkt.",
    "admin_unavailable": "Bronnen toevoegen en wijzigen kan niet op deze server.",
    "error_title": "Er ging iets mis",
    "unavailable": "Niet beschikbaar",
    "conflict": "Bestaat al",
    "not_found": "Niet gevonden",
    "not_found_text": "Op dit adres staat niets.",
    "bad_request": "Ongeldig verzoek",
    "bad_request_text": "Het adres of formulier kon niet worden gelezen.",
    "forbidden": "Geen toegang",
    "forbidden_text": "Je mag deze pagina niet openen.",
    "server_error_text": "De server maakte een fout. Die is vastgelegd.",
    "back_home": "Terug naar de voorpagina",
    "just_now": "zojuist",
    "minutes_ago": "{n} min geleden",
    "hours_ago": "{n} uur geleden",
    "in_minutes": "over {n} min",
    "in_hours": "over {n} uur",
    "months": "jan feb mrt apr mei jun jul aug sep okt nov dec",
}

# Site learning (admin: what each site's learned template removes, and the operator's override).
_EN_SITES = {
    "sites_title": "Site templates",
    "sites_intro": "What newsdesk learned to remove from each site's pages before extracting the article.",
    "site": "Site",
    "learned_at": "Learned",
    "pages_seen": "Pages read",
    "blocks": "Removed blocks",
    "no_sites": "No site has enough stored pages yet.",
    "block_text": "Text",
    "block_place": "Place",
    "block_reason": "Why",
    "override": "Override",
    "override_intro": "One entry per line. Texts are matched like the learned blocks (case and digits ignored).",
    "keep_texts": "Never remove these texts",
    "remove_texts": "Always remove these texts",
    "remove_selectors": "Always remove elements matching these CSS selectors",
    "save": "Save",
    "saved": "Saved.",
}
_NL_SITES = {
    "sites_title": "Sitesjablonen",
    "sites_intro": "Wat newsdesk per site heeft geleerd weg te halen voordat het artikel wordt gelezen.",
    "site": "Site",
    "learned_at": "Geleerd",
    "pages_seen": "Pagina's gelezen",
    "blocks": "Verwijderde blokken",
    "no_sites": "Nog geen site heeft genoeg opgeslagen pagina's.",
    "block_text": "Tekst",
    "block_place": "Plaats",
    "block_reason": "Waarom",
    "override": "Aanpassen",
    "override_intro": ("Eén per regel. Teksten worden vergeleken zoals de geleerde blokken (hoofdletters en "
                       "cijfers tellen niet)."),
    "keep_texts": "Deze teksten nooit weghalen",
    "remove_texts": "Deze teksten altijd weghalen",
    "remove_selectors": "Elementen met deze CSS-selectors altijd weghalen",
    "save": "Opslaan",
    "saved": "Opgeslagen.",
}

# --- newsletters (web/newsletters.py and its templates) ------------------------------------------
_EN.update({
    "nl_signup": "Sign up for the newsletter {name}",
    "nl_email": "E-mail address",
    "nl_subscribe": "Sign up",
    "nl_form_expired": "The form expired. Reload the page and try again.",
    "nl_check_mail_title": "Check your mailbox",
    "nl_check_mail": "If {address} is not subscribed to {name} yet, a mail with a confirmation link is on its "
                     "way. Nothing else is sent until you confirm.",
    "nl_invalid_address_title": "This address cannot be used",
    "nl_rate_limited_title": "Too many attempts",
    "nl_unavailable_title": "Newsletters are not available right now",
    "nl_mail_failed": "The confirmation mail could not be sent right now. Try again in a few minutes.",
    "nl_unknown_newsletter": "There is no such newsletter.",
    "nl_confirm_title": "Confirm your subscription",
    "nl_confirm_text": "Confirm that {address} wants to receive {name}.",
    "nl_confirm_button": "Confirm",
    "nl_confirmed_title": "Subscribed",
    "nl_confirmed_text": "{address} now receives {name}.",
    "nl_invalid_link_title": "This link does not work",
    "nl_unsubscribe_title": "Unsubscribe",
    "nl_unsubscribe_text": "Stop sending {name} to {address}?",
    "nl_unsubscribe_button": "Unsubscribe",
    "nl_unsubscribed_title": "Unsubscribed",
    "nl_unsubscribed_text": "{address} no longer receives {name}.",
    "nl_manage_title": "Your newsletters",
    "nl_manage_text": "Newsletters for {address}",
    "nl_state_active": "subscribed",
    "nl_state_pending": "waiting for confirmation",
    "nl_state_none": "not subscribed",
    "nl_none_defined": "There are no newsletters.",
    "mails_title": "Received mails",
    "mails_no_sink": "This server has no local mail sink; only `newsdesk demo` starts one.",
    "mails_none": "No mails received yet.",
    "mails_headers": "Headers",
    "mails_text": "Text",
    "mails_html": "HTML (source)",
})
_NL.update({
    "nl_signup": "Schrijf je in voor de nieuwsbrief {name}",
    "nl_email": "E-mailadres",
    "nl_subscribe": "Inschrijven",
    "nl_form_expired": "Het formulier is verlopen. Laad de pagina opnieuw en probeer het nog eens.",
    "nl_check_mail_title": "Kijk in je mailbox",
    "nl_check_mail": "Als {address} nog niet is ingeschreven voor {name}, is er een mail met een "
                     "bevestigingslink onderweg. Tot je bevestigt, sturen we verder niets.",
    "nl_invalid_address_title": "Dit adres kan niet worden gebruikt",
    "nl_rate_limited_title": "Te veel pogingen",
    "nl_unavailable_title": "Nieuwsbrieven zijn nu niet beschikbaar",
    "nl_mail_failed": "De bevestigingsmail kon nu niet worden verstuurd. Probeer het over een paar minuten opnieuw.",
    "nl_unknown_newsletter": "Deze nieuwsbrief bestaat niet.",
    "nl_confirm_title": "Bevestig je inschrijving",
    "nl_confirm_text": "Bevestig dat {address} {name} wil ontvangen.",
    "nl_confirm_button": "Bevestigen",
    "nl_confirmed_title": "Ingeschreven",
    "nl_confirmed_text": "{address} ontvangt nu {name}.",
    "nl_invalid_link_title": "Deze link werkt niet",
    "nl_unsubscribe_title": "Afmelden",
    "nl_unsubscribe_text": "{name} niet meer naar {address} sturen?",
    "nl_unsubscribe_button": "Afmelden",
    "nl_unsubscribed_title": "Afgemeld",
    "nl_unsubscribed_text": "{address} ontvangt {name} niet meer.",
    "nl_manage_title": "Je nieuwsbrieven",
    "nl_manage_text": "Nieuwsbrieven voor {address}",
    "nl_state_active": "ingeschreven",
    "nl_state_pending": "wacht op bevestiging",
    "nl_state_none": "niet ingeschreven",
    "nl_none_defined": "Er zijn geen nieuwsbrieven.",
    "mails_title": "Ontvangen mails",
    "mails_no_sink": "Deze server heeft geen lokale mailserver; alleen `newsdesk demo` start er een.",
    "mails_none": "Nog geen mails ontvangen.",
    "mails_headers": "Kopregels",
    "mails_text": "Tekst",
    "mails_html": "HTML (bron)",
})

# --- article metadata (templates/article.html) ---------------------------------------------------
_EN.update({
    "article_updated": "Updated",
})
_NL.update({
    "article_updated": "Bijgewerkt",
})

_LABELS: dict[str, dict[str, str]] = {"en": {**_EN, **_EN_SITES}, "nl": {**_EN, **_EN_SITES, **_NL, **_NL_SITES}}

Labels = Mapping[str, str]


def labels_for(language: str) -> Labels:
    return _LABELS.get(language, _EN)


def _from_accept_language(header: str) -> str | None:
    """The supported language the browser ranks highest (q-values honoured, bounded input)."""
    best: tuple[float, str] | None = None
    for part in header[:500].split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if lang in LANGUAGES and quality > 0 and (best is None or quality > best[0]):
            best = (quality, lang)
    return best[1] if best else None


def choose_language(query: str | None, cookie: str | None, accept_language: str | None,
                    default: str) -> str:
    """?lang=, else the cookie it set, else Accept-Language, else the configured default."""
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    if accept_language:
        found = _from_accept_language(accept_language)
        if found:
            return found
    return default if default in LANGUAGES else "en"


def format_count(count: int, language: str) -> str:
    """A whole number with the reader's thousands separator: 1,000 in English, 1.000 in Dutch."""
    grouped = f"{count:,}"
    return grouped.replace(",", ".") if language == "nl" else grouped


def format_time(when: datetime, now: datetime, language: str) -> str:
    """Relative within the last day ("3 h ago"), else an absolute date in the reader's language."""
    labels = labels_for(language)
    age = now - when
    if timedelta(0) <= age < timedelta(minutes=1):
        return labels["just_now"]
    if timedelta(0) <= age < timedelta(hours=1):
        return labels["minutes_ago"].format(n=int(age.total_seconds() // 60))
    if timedelta(0) <= age < timedelta(days=1):
        return labels["hours_ago"].format(n=int(age.total_seconds() // 3600))
    # the future: the admin's next fetch times
    ahead = -age
    if timedelta(0) < ahead < timedelta(hours=1):
        return labels["in_minutes"].format(n=max(1, round(ahead.total_seconds() / 60)))
    if timedelta(0) < ahead < timedelta(days=1):
        return labels["in_hours"].format(n=round(ahead.total_seconds() / 3600))
    month = labels["months"].split()[when.month - 1]
    return f"{when.day} {month} {when.year}, {when:%H:%M}"


# -- accounts: login, account page, read/starred (web/auth.py) ------------------------------------
_ACCOUNT_EN: dict[str, str] = {
    "login": "Log in",
    "logout": "Log out",
    "account": "Account",
    "user_name": "User name",
    "password": "Password",
    "new_password": "New password",
    "change_password": "Change password",
    "password_changed": "Password changed.",
    "login_failed": "Wrong user name or password.",
    "login_limited": "Too many failed logins. Try again later.",
    "api_keys": "API keys",
    "api_key_name": "Name",
    "create_key": "Create key",
    "key_created": "New key (shown once, copy it now):",
    "revoke": "Revoke",
    "revoked": "revoked",
    "last_used": "Last used",
    "no_keys": "No API keys yet.",
    "mark_read": "Mark read",
    "mark_unread": "Mark unread",
    "star": "Star",
    "unstar": "Unstar",
    "starred": "Starred",
    "unread": "Unread",
    "apps_help": "Feed reader apps: Google Reader API at {url}/api/greader, Miniflux API at {url}.",
}
_ACCOUNT_NL: dict[str, str] = {
    "login": "Inloggen",
    "logout": "Uitloggen",
    "account": "Account",
    "user_name": "Gebruikersnaam",
    "password": "Wachtwoord",
    "new_password": "Nieuw wachtwoord",
    "change_password": "Wachtwoord wijzigen",
    "password_changed": "Wachtwoord gewijzigd.",
    "login_failed": "Verkeerde gebruikersnaam of wachtwoord.",
    "login_limited": "Te veel mislukte pogingen. Probeer het later opnieuw.",
    "api_keys": "API-sleutels",
    "api_key_name": "Naam",
    "create_key": "Sleutel maken",
    "key_created": "Nieuwe sleutel (eenmalig getoond, kopieer hem nu):",
    "revoke": "Intrekken",
    "revoked": "ingetrokken",
    "last_used": "Laatst gebruikt",
    "no_keys": "Nog geen API-sleutels.",
    "mark_read": "Markeer gelezen",
    "mark_unread": "Markeer ongelezen",
    "star": "Ster",
    "unstar": "Ster weg",
    "starred": "Met ster",
    "unread": "Ongelezen",
    "apps_help": "Feedlezer-apps: Google Reader-API op {url}/api/greader, Miniflux-API op {url}.",
}
# Into the built tables (whatever other blocks built them from) and into _EN, the fallback.
_EN.update(_ACCOUNT_EN)
_LABELS["en"].update(_ACCOUNT_EN)
_LABELS["nl"].update({**_ACCOUNT_EN, **_ACCOUNT_NL})
