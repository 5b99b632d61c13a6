"""What a message attempt's outcome and codes mean, said plainly for the people who try messages (the
admin's "Try messages" page): the codes themselves (llm.results.MessageResult.detail, image_status)
stay short and stable for logs and metrics.
"""

from __future__ import annotations

from llm.results import MessageResult, Outcome

# Why an image did not go with the prompt (llm.images' and llm.downscale's reasons).
_IMAGE_PROBLEMS = {
    "timeout": "the image could not be fetched: timeout",
    "no_slot": "the image could not be fetched: no free download slot in time",
    "too_large": "the image could not be fetched: larger than LLM_IMAGE_MAX_BYTES",
    "not_an_image": "the image could not be fetched: the address does not serve a JPEG, PNG, GIF or WebP",
    "bad_url": "the image could not be fetched: its address is not a public http(s) URL",
    "bad_redirect": "the image could not be fetched: it redirects somewhere it may not go",
    "too_many_redirects": "the image could not be fetched: too many redirects",
    "undecodable": "the image could not be used: it does not decode",
    "too_many_pixels": "the image could not be used: more pixels than LLM_IMAGE_MAX_PIXELS",
    "decode_timeout": "the image could not be used: making it small took too long",
}

# Why Gemini's answer was refused (llm.checks' reasons).
_INVALID = {
    "too_long": "longer than the 50 characters a message may have",
    "no_emoji": "no emoji",
    "multiline": "more than one line",
    "markup": "markup in it",
    "url": "a link in it",
    "control_character": "control characters in it",
    "empty": "nothing in it",
    "placeholder": "the {name} placeholder missing or repeated",
    "secret": "something that must never be shown",
    "no_candidates": "no answer at all",
    "finish_MAX_TOKENS": "cut off at GEMINI_MAX_OUTPUT_TOKENS",
}

_DETAILS = {
    "cooldown": "rate limited: Gemini asked us to slow down, calls are paused for a while",
    "rate_limit": "rate limited: LLM_RATE_LIMIT calls were already made this minute",
    "no_slot": "timed out waiting for a free call slot (LLM_MAX_IN_FLIGHT calls already at Gemini)",
    "call_timeout": "timed out: Gemini did not answer within LLM_TIMEOUT_SECONDS",
    "status_429": "rate limited: Gemini answered 429 (quota exhausted)",
    "status_503": "Gemini is overloaded (503): calls are paused for a while",
}


def problem(result: MessageResult) -> str:
    """The message's problem in plain words, or "" when it was made. Never holds a secret: it is
    made of the result's codes only."""
    outcome, detail = result.outcome, result.detail
    if outcome is Outcome.OK:
        return ""
    if outcome is Outcome.NO_KEY:
        return "Gemini is not configured: GOOGLE_API_KEY is empty"
    if detail in _DETAILS:
        return _DETAILS[detail]
    if outcome is Outcome.RATE_LIMITED:
        return "rate limited"
    if outcome is Outcome.TIMEOUT:
        return "timed out"
    if outcome is Outcome.BLOCKED:
        reason = detail.removeprefix("finish_").removeprefix("block_reason_")
        return f"Gemini blocked the message ({reason or 'no reason given'})"
    if outcome is Outcome.INVALID:
        return f"Gemini's answer was refused: {_INVALID.get(detail, detail or 'not a message')}"
    if detail.startswith("status_"):
        return f"Gemini answered with an error (HTTP {detail.removeprefix('status_')})"
    return f"the call failed ({detail or outcome.value})"


def image_problem(result: MessageResult) -> str:
    """Why the outfit's image did not go with the prompt, or "" when it went or there was none."""
    status = result.image_status
    if status in ("sent", "none"):
        return ""
    if status in _IMAGE_PROBLEMS:
        return _IMAGE_PROBLEMS[status]
    kind, _, what = status.partition("_")
    if kind == "status" and what.isdigit():
        return f"the image could not be fetched: its server answered HTTP {what}"
    if status.startswith(("http_error:", "os_error:")):
        return f"the image could not be fetched: {status.partition(':')[2]}"
    return f"the image was not sent ({status})"
