"""Varied texts: short, long, past 256 and 512 tokens, other scripts, punctuation, emoji."""

from collections.abc import Sequence
from typing import Any, Final

LONG_PARAGRAPH: Final = (
    "The portfolio's exposure to semiconductor manufacturers rose after the quarterly "
    "rebalancing, while holdings in regional banks were trimmed in response to tighter "
    "credit conditions and a flattening yield curve. "
)

VARIED_TEXTS: Final = [
    "vectorize me",
    "Hi",
    "a",
    "Tesla beat delivery estimates for the third quarter.",
    "The central bank held interest rates steady and signalled two cuts next year.",
    LONG_PARAGRAPH * 3,  # about 120 tokens
    LONG_PARAGRAPH * 8,  # past 256 tokens: truncated like sentence-transformers
    LONG_PARAGRAPH * 20,  # past 512 tokens: would fail without truncation
    "Les marchés financiers ont progressé après l'annonce de la banque centrale.",
    "Die Aktienmärkte legten nach der Zinsentscheidung deutlich zu.",
    "市场在央行宣布后上涨，科技股领涨。",
    "ارتفعت الأسواق المالية بعد إعلان البنك المركزي",
    "Финансовые рынки выросли после заявления центрального банка.",
    "!!! ??? ... ;;; --- ***",
    "🚀📈💰 to the moon 🌕",
    "🙂",
    "AAPL 189.25 +1.3% | MSFT 402.10 -0.4% | NVDA 875.00 +2.9%",
    "def embed(texts: list[str]) -> list[list[float]]: return client.embed(texts)",
    "https://example.com/reports/2026/q3?ticker=ACME&format=pdf",
    "   leading and trailing whitespace   \n\n with\ttabs   ",
    "ALL CAPS HEADLINE: MARKETS TUMBLE AS OIL SPIKES",
    "naïve café résumé coöperate façade",
]

_TRUTH: dict[tuple[str, ...], list[list[float]]] = {}


def truth(model: Any, texts: Sequence[str]) -> list[list[float]]:
    """sentence-transformers' normalised embeddings of `texts` (`model` is the session's
    SentenceTransformer), computed once a session: 22 varied texts take seconds on 2 cores."""
    key = tuple(texts)
    if key not in _TRUTH:
        _TRUTH[key] = model.encode(list(texts), normalize_embeddings=True).tolist()
    return _TRUTH[key]
