"""Take secrets and personal details out of everything csm-doctor shows or writes.

Support bundles and triage output get pasted into public issues, so every
string that leaves the process goes through one `Redactor`: tokens and keys
by their shape (hf_…, ghp_…, AKIA…, 40-hex W&B keys, `Bearer …`, credentials
in URLs), values of variables whose names say they are secret (name kept,
value dropped), the values of this process's own secret variables wherever
they appear, the home directory (as `~`), GPU UUIDs and serial numbers.
It counts what it removed by kind, never keeping a value, so a bundle can
say what was taken out.

Everything here is a pure function of its input and the redactor's setup:
the same text is redacted the same way in stdout, JSON, Markdown and files.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any, Callable

REDACTED = "<redacted>"
MIN_SECRET_LENGTH = 6  # shorter variable values ("1", "true") would scrub half the text

# A variable name that says its value is secret. Environment-style (upper-case)
# names match anywhere in the name (MY_HF_TOKEN, WANDB_API_KEY); other names by
# their last component (hf_token=, "api_key":), so `tokenizer_model` and the
# facts' `token_present` / `token_source` are left alone.
_SECRET_WORDS = "TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL"
_SECRET_UPPER_RE = re.compile(rf"[A-Z0-9_]*(?:{_SECRET_WORDS})[A-Z0-9_]*")
_SECRET_COMPONENTS = {"token", "key", "apikey", "secret", "password", "passwd", "credential",
                      "credentials"}
_NOT_SECRET_VALUES = {"true", "false", "none", "null", "nil", "yes", "no", "0", "1", ""}


def is_secret_name(name: str) -> bool:
    """Whether a variable or field of this name holds a secret (its value is dropped)."""
    if _SECRET_UPPER_RE.fullmatch(name):
        return True
    return re.split(r"[_\-.]", name.lower())[-1] in _SECRET_COMPONENTS


def is_secret_env_name(name: str) -> bool:
    """An environment variable whose value a report must not keep (names containing TOKEN,
    KEY, SECRET, PASSWORD, PASSWD or CREDENTIAL, in any case)."""
    return re.search(_SECRET_WORDS, name, re.IGNORECASE) is not None


Replacement = Callable[[re.Match[str]], str]


def _keep(group: int, tail: str = REDACTED) -> Replacement:
    """Keep group `group` (a prefix such as `Bearer `), replace the rest of the match."""
    return lambda match: match.group(group) + tail


# NAME=value, "name": "value", --token value: a name, a separator, an opening quote.
# Only the name and separator are consumed when scanning, so `export HF_TOKEN=…`
# reaches HF_TOKEN after trying `export`.
_ASSIGNMENT_RE = re.compile(
    r"(?<![\w\-])(?P<flag>--)?[\"']?(?P<name>[A-Za-z_][A-Za-z0-9_.\-]{0,60})[\"']?"
    r"(?:(?P<equals>\s*[=:]\s*)|\s+(?=[\"']?[A-Za-z0-9_\-]{16,}))[\"']?")
_VALUE_RE = re.compile(r"[^\s\"',;}\])]+")


def _is_placeholder(value: str) -> bool:
    """True, None, $HF_TOKEN, os.getenv(...), <redacted>: not a secret itself."""
    return value.lower() in _NOT_SECRET_VALUES or value.startswith(("$", "%", "<", "os.", "(")) \
        or REDACTED in value


def _is_prose(value: str) -> bool:
    """A short lower-case word after "token:" is the sentence going on, not a secret."""
    return value.isalpha() and value.islower() and len(value) < 12


def _looks_secret(value: str) -> bool:
    """A value worth hiding on the user's own terminal: long, and not a plain word or path."""
    return len(value) >= 8 and not value.isalpha() and not value.startswith(("/", "~", "."))


def _url_credentials(match: re.Match[str]) -> str | None:
    """https://user:token@host keeps the user; a lone user part that looks like a token goes."""
    scheme, user, password = match.group(1), match.group(2), match.group(3)
    if password is not None:
        return f"{scheme}{user}:{REDACTED}@"
    return f"{scheme}{REDACTED}@" if len(user) >= 16 else None


def _aws_secret_shape(match: re.Match[str]) -> str | None:
    """A bare 40-character AWS secret: mixed case and digits (a hex digest or a word is not)."""
    value = match.group(0)
    if any(c.isupper() for c in value) and any(c.islower() for c in value) and \
            any(c.isdigit() for c in value) and not value.isalpha():
        return REDACTED
    return None


def _hex40(match: re.Match[str]) -> str | None:
    """A 40-hex run (a W&B API key) except a revision in a URL path (/resolve/<sha>/)."""
    before = match.string[max(0, match.start() - 1):match.start()]
    return None if before == "/" else REDACTED


# (kind, pattern, replacement: a template, or a function returning None to leave the match)
_RULES: tuple[tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str | None]], ...] = (
    ("credentials in a URL", re.compile(
        r"\b([A-Za-z][A-Za-z0-9+.\-]{1,20}://)([^\s/@:'\"<>]+)(?::([^\s/@'\"<>]+))?@"), _url_credentials),
    ("token in a URL query", re.compile(
        r"([?&](?:access_token|token|api_key|apikey|key|secret|password|sig|signature|auth"
        r"|X-Amz-Signature|X-Amz-Credential)=)[^&\s#\"'<>]+", re.IGNORECASE), _keep(1)),
    ("bearer token", re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=\-]{8,}"),
     lambda m: m.group(1) + m.group(2) + REDACTED),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{20,}"), "hf_" + REDACTED),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
     REDACTED),
    ("API key (sk-…)", re.compile(r"\bsk-[A-Za-z0-9_\-]{20,}"), REDACTED),
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    ("AWS secret key", re.compile(
        r"(?i)(aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9/+=]{40}"), _keep(1)),
)
# For what is pasted into public issues (bundles, triage): bare keys known only by their shape
# (a commit hash looks like a W&B key), and details that say who and which machine. The user's
# own terminal keeps them; its secrets are caught by value and by the shapes above.
_PUBLIC_RULES: tuple[tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str | None]], ...] = (
    ("40-hex key (W&B)", re.compile(r"(?<![0-9A-Fa-f])[0-9a-f]{40}(?![0-9A-Fa-f])"), _hex40),
    ("AWS secret key", re.compile(r"(?<![A-Za-z0-9/+=_\-.])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=_\-.])"),
     _aws_secret_shape),
    ("GPU UUID", re.compile(r"\b(GPU|MIG)-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}"
                            r"-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), lambda m: f"{m.group(1)}-{REDACTED}"),
    ("serial number", re.compile(
        r"(?i)(\bserial(?:[ _]?number)?[\"']?\s*[:=]\s*[\"']?|<serial>|\bS/N\s*:\s*)"
        r"(?!N/A\b|\[|<redacted>)([^\s<\"',)]+)"), _keep(1)),
)
# The password part of user:password@ in a URL-valued variable (PIP_INDEX_URL, HF_ENDPOINT).
_URL_PASSWORD_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s/@:'\"<>]+:([^\s/@'\"<>]+)@")
# Any user's home, as pasted: /home/alice, /Users/alice, C:\Users\alice (or C:\\Users\\alice).
_OTHER_HOME_RE = re.compile(r"(?<![\w.~])(?:/home/|/Users/)[^/\s:'\"<>]+"
                            r"|\b[A-Za-z]:(?:\\\\|\\|/)Users(?:\\\\|\\|/)[^\\/\s:'\"<>]+",
                            re.IGNORECASE)


class Redactor:
    """One redaction policy and its running count of what it removed, by kind."""

    def __init__(self, home: str | None = None, environ: Mapping[str, str] | None = None,
                 public: bool = True) -> None:
        self.counts: Counter[str] = Counter()
        self.public = public
        values = {value for name, value in (environ or {}).items()
                  if is_secret_env_name(name) and len(value or "") >= MIN_SECRET_LENGTH}
        self._literals = sorted(values, key=len, reverse=True)
        # user:password@ in a URL-valued variable: caught in its URL by the rules, and anywhere
        # else it shows up (a tool that prints the parsed URL) by value, after them.
        passwords = {password for value in (environ or {}).values()
                     for password in _URL_PASSWORD_RE.findall(value or "")
                     if len(password) >= MIN_SECRET_LENGTH} - values
        self._url_passwords = sorted(passwords, key=len, reverse=True)
        homes = {os.path.normpath(h) for h in (home, os.path.realpath(home) if home else None)
                 if h and os.path.normpath(h) not in ("/", "\\", ".")}
        self._homes = sorted(homes, key=len, reverse=True)

    @classmethod
    def for_this_process(cls) -> "Redactor":
        """This user's home, and the secret values in this process's environment."""
        return cls(home=os.path.expanduser("~"), environ=dict(os.environ))

    @classmethod
    def secrets_only(cls) -> "Redactor":
        """For the user's own terminal and files: secrets go, paths and GPU ids stay."""
        return cls(environ=dict(os.environ), public=False)

    def text(self, text: str) -> str:
        """`text` with every secret and personal detail replaced."""
        if not text:
            return text
        for literal in self._literals:
            if literal in text:
                self.counts["value of a secret environment variable"] += text.count(literal)
                text = text.replace(literal, REDACTED)
        for kind, pattern, replacement in _RULES + (_PUBLIC_RULES if self.public else ()):
            text = pattern.sub(self._counting(kind, replacement), text)
        text = self._assignments(text)
        for password in self._url_passwords:
            if password in text:
                self.counts["credentials in a URL"] += text.count(password)
                text = text.replace(password, REDACTED)
        if not self.public:
            return text
        for home in self._homes:
            if home in text:
                self.counts["home directory"] += text.count(home)
                text = text.replace(home, "~")
        return _OTHER_HOME_RE.sub(self._counting("home directory", "~"), text)

    def _assignments(self, text: str) -> str:
        """Values given to secret-named variables, flags and fields."""
        out, position = [], 0
        for match in _ASSIGNMENT_RE.finditer(text):
            if match.start() < position or not self._secret_field(match.group("name")):
                continue
            if not self.public and match.group("equals") is None and match.group("flag") is None:
                continue  # prose ("key '--max-frames'") on the user's terminal: only --flag value
            value = _VALUE_RE.match(text, match.end())
            if value is None or _is_placeholder(value.group(0)):
                continue
            if _is_prose(value.group(0)) or (not self.public and not _looks_secret(value.group(0))):
                continue  # "no Hugging Face token: the gated repos ..." is prose, not a value
            out += [text[position:value.start()], REDACTED]
            position = value.end()
            self.counts["secret variable value"] += 1
        return "".join(out) + text[position:] if out else text

    def _secret_field(self, name: str) -> bool:
        """A secret-named field; on the terminal a bare `key` is csm-doctor's own word for a
        config key ("key": "token_max_length"), not a credential."""
        return is_secret_name(name) and (self.public or name.lower() != "key")

    def _counting(self, kind: str, replacement: str | Callable[[re.Match[str]], str | None]
                  ) -> Callable[[re.Match[str]], str]:
        def substitute(match: re.Match[str]) -> str:
            new = replacement(match) if callable(replacement) else replacement
            if new is None or new == match.group(0):
                return match.group(0)
            self.counts[kind] += 1
            return new
        return substitute

    def value(self, value: Any) -> Any:
        """A JSON-like value with every string redacted; a secret-named field's value dropped.

        Types are kept (a string stays a string), so a redacted facts document still loads.
        """
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                if key == "env" and isinstance(item, Mapping):  # the facts' environment section
                    out[key] = self.environment(item)
                elif isinstance(key, str) and isinstance(item, str) and item and \
                        self._secret_field(key) and item.lower() not in _NOT_SECRET_VALUES:
                    self.counts["secret variable value"] += 1
                    out[self.text(key)] = REDACTED
                else:
                    out[self.text(key) if isinstance(key, str) else key] = self.value(item)
            return out
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value

    def environment(self, environ: Mapping[str, Any]) -> dict[str, Any]:
        """Environment variables as shown: secret ones keep their name, lose their value."""
        out = {}
        for name, value in environ.items():
            if is_secret_env_name(str(name)) and value not in (None, ""):
                self.counts["secret variable value"] += 1
                out[name] = REDACTED
            else:
                out[name] = self.value(value)
        return out

    def summary(self) -> list[dict[str, Any]]:
        """What was removed: kinds and counts, never the values."""
        return [{"kind": kind, "count": count} for kind, count in sorted(self.counts.items())]


_process_redactor: tuple[tuple, Redactor] | None = None


def _process() -> Redactor:
    """The secrets-only redactor for this process's environment as it is now."""
    global _process_redactor
    key = tuple(sorted((name, value) for name, value in os.environ.items()
                       if "://" in value or is_secret_env_name(name)))
    if _process_redactor is None or _process_redactor[0] != key:
        _process_redactor = (key, Redactor.secrets_only())
    return _process_redactor[1]


def redact_secrets(text: str) -> str:
    """`text` without this process's secrets: the one filter for everything csm-doctor prints
    or writes for the user (terminal, --json, result files, a target's output)."""
    return _process().text(text)


def redact_secrets_in(value: Any) -> Any:
    """A JSON-like value with redact_secrets applied to every string (types kept)."""
    return _process().value(value)


class RedactingStream:
    """A text stream that passes every write through redact_secrets (stdout and stderr).

    Installed by the CLI at start-up, so a secret in any message, table or
    JSON document is caught where it leaves the process, whoever wrote it.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if isinstance(text, str) and text:
            self._stream.write(redact_secrets(text))
        else:
            self._stream.write(text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def install_redacting_streams() -> None:
    """Wrap sys.stdout and sys.stderr once (a no-op when they are wrapped already)."""
    import sys

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, RedactingStream):
            setattr(sys, name, RedactingStream(stream))
