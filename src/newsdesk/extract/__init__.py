"""Extraction: an article page's HTML to a clean, sanitized article.

Public surface: `extract_article`, `extract_articles`, `sanitize_html`, `html_to_text`,
`detect_language`, `absolute_url`, `normalize_url`; per-site learning: `learn_site_profile`,
`apply_profile`, `is_stale`, `SiteProfile`. Importing this package loads no models and reads
no files.
"""

from .article import ExtractLimits, extract_article, extract_articles
from .choose import ChooseOptions
from .decode import decode_html
from .language import detect_language
from .sanitize import html_to_text, sanitize_html
from .sitelearn import (
    LearnOptions,
    RepeatedBlock,
    SiteProfile,
    apply_profile,
    is_stale,
    layout_similarity,
    learn_site_profile,
    site_key,
)
from .urls import absolute_url, normalize_url

__all__ = [
    "ChooseOptions",
    "ExtractLimits",
    "LearnOptions",
    "RepeatedBlock",
    "SiteProfile",
    "apply_profile",
    "is_stale",
    "layout_similarity",
    "learn_site_profile",
    "site_key",
    "absolute_url",
    "decode_html",
    "detect_language",
    "extract_article",
    "extract_articles",
    "html_to_text",
    "normalize_url",
    "sanitize_html",
]
